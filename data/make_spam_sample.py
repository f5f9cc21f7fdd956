"""Generate ``data/spam_sample.csv``: a synthetic Korean SMS / messenger sample.

The file is a small, deterministic stand-in for a real spam corpus so that the
``nlp_pp`` pipeline (MeCab + jamo preprocessing, embeddings, RNN classifiers)
can be run and tested end to end without downloading anything.

Every message is composed from hand-written templates (plain data at the top of
this module) whose ``{slot}`` placeholders are filled with random values
(names, places, foods, shops, banks, phone numbers, URLs, money amounts, ...).
A message is 1 to 4 template sentences, so lengths range from a couple of words
to several sentences.  The sample is deliberately *not* trivially separable:

* everyday talk (``일상대화``) mentions 할인, 쿠폰, 이벤트, 대출, 토토, 카지노,
  links, phone numbers and money amounts, and forwards/complains about spam;
* spam (``스팸문자``) includes messages that imitate friends and family,
  short plain messages, and about 25% are obfuscated (``대.출``, ``ㄷㅐ출``,
  ``C@sino``, full-width / circled digits, odd spacing);
* about 2% of the labels are flipped on purpose (label noise).

``--spam-rate`` is the expected share of ``스팸문자`` labels in the written
file, label noise included: fewer spam messages are generated than the rate
asks for, because the flips turn more ham into spam than back (see
:func:`ham_messages`).

Standard library only; the same ``--seed`` always yields a byte-identical file.

Usage::

    python data/make_spam_sample.py [--rows 4000] [--seed 42] [--spam-rate 0.452] [--out data/spam_sample.csv]
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HAM_LABEL = "일상대화"
SPAM_LABEL = "스팸문자"
OBFUSCATION_RATE = 0.25  # share of spam that gets disguised keywords / digits
FORWARD_RATE = 0.10  # share of ham that forwards (quotes) a spam text
WARMUP_RATE = 0.4  # share of friendly-looking spam opened with ham small talk
PREFIX_RATE = 0.35  # share of ad-like spam with a [광고] / [Web발신] header
FOOTER_RATE = 0.3  # share of ad-like spam with a 080 opt-out footer
LABEL_NOISE_RATE = 0.02  # share of rows, drawn uniformly whatever their class, whose label is flipped
# Expected share of spam labels in the file.  The committed sample's: 45% of the
# messages generated as spam, which the label noise moves to 45.2% (0.45 * 0.96 + 0.02).
DEFAULT_SPAM_RATE = 0.452

# ---------------------------------------------------------------------------
# Slot values (plain data).  Names / family terms end in a vowel so that the
# particles used in the templates (가, 랑, 는, 도) are always grammatical.
# ---------------------------------------------------------------------------

NAMES = [
    "민지",
    "수아",
    "지우",
    "서희",
    "유나",
    "태호",
    "재우",
    "현수",
    "지호",
    "다희",
    "예지",
    "하루",
    "소희",
    "민호",
    "세아",
    "주희",
    "도희",
    "은지",
    "우주",
    "채아",
    "나래",
    "지나",
    "혜리",
    "기호",
    "영호",
    "유리",
    "보라",
    "미나",
    "서아",
    "준호",
]
FULL_NAMES = [
    "김지훈",
    "이서연",
    "박민수",
    "최유진",
    "정하늘",
    "강태호",
    "조은비",
    "윤재석",
    "장미란",
    "임도현",
    "한소영",
    "오세훈",
    "신동욱",
    "권나래",
    "황보람",
    "송지민",
]
FAMILY = ["엄마", "아빠", "언니", "오빠", "누나", "이모", "고모", "할머니", "할아버지"]
PLACES = [
    "강남역",
    "홍대입구",
    "신촌",
    "잠실",
    "성수",
    "판교",
    "건대입구",
    "합정",
    "여의도",
    "해운대",
    "서면",
    "동성로",
    "종로",
    "을지로",
    "수원역",
    "인천터미널",
    "대전역",
    "학교 앞",
    "회사 앞",
    "집 앞 카페",
    "롯데월드몰",
    "코엑스",
    "광화문",
    "이태원",
]
CITIES = ["서울", "부산", "대구", "인천", "광주", "대전", "울산", "수원", "창원", "고양"]
TIMES = [
    "7시",
    "7시 반",
    "6시",
    "12시",
    "1시",
    "3시쯤",
    "오후 2시",
    "저녁 8시",
    "아침 10시",
    "11시 반",
    "6시 30분",
    "저녁 7시",
    "점심때",
    "5시쯤",
    "9시",
]
DAYS = [
    "내일",
    "모레",
    "이번 주말",
    "토요일",
    "일요일",
    "금요일",
    "다음 주 월요일",
    "수요일",
    "오늘",
    "다음 주",
    "목요일",
    "이번 주 금요일",
]
FOODS = [
    "삼겹살",
    "치킨",
    "떡볶이",
    "마라탕",
    "초밥",
    "국밥",
    "파스타",
    "짜장면",
    "곱창",
    "피자",
    "족발",
    "냉면",
    "김치찌개",
    "닭갈비",
    "쌀국수",
    "햄버거",
    "부대찌개",
    "순대국",
    "돈까스",
    "회",
    "칼국수",
    "감자탕",
    "샤브샤브",
    "탕후루",
    "훠궈",
]
PRODUCTS = [
    "에어팟",
    "운동화",
    "패딩",
    "노트북",
    "선크림",
    "텀블러",
    "가습기",
    "청소기",
    "아이패드",
    "후드티",
    "캠핑의자",
    "전기장판",
    "블루투스 스피커",
    "립스틱",
    "백팩",
    "스마트워치",
    "공기청정기",
    "갤럭시 버즈",
    "에어프라이어",
    "향수",
]
SHOPS = [
    "쿠팡",
    "올리브영",
    "다이소",
    "이마트",
    "홈플러스",
    "무신사",
    "11번가",
    "GS25",
    "CU",
    "세븐일레븐",
    "마켓컬리",
    "지마켓",
    "롯데마트",
    "코스트코",
    "이마트24",
    "29CM",
]
FAKE_SHOPS = [
    "럭키몰",
    "해피딜",
    "굿초이스몰",
    "데일리핫딜",
    "스타일업",
    "뷰티팡",
    "마켓플러스",
    "오늘특가",
    "명품아울렛",
    "건강한가",
    "코리아쇼핑",
    "특가왕",
]
BANKS = [
    "국민은행",
    "신한은행",
    "우리은행",
    "하나은행",
    "농협",
    "카카오뱅크",
    "토스뱅크",
    "기업은행",
    "새마을금고",
    "우체국",
    "SC제일은행",
    "케이뱅크",
]
CARDS = ["신한카드", "삼성카드", "현대카드", "KB국민카드", "롯데카드", "하나카드", "BC카드", "NH카드"]
APPS = ["카카오톡", "토스", "네이버", "쿠팡", "인스타그램", "배민", "당근", "카카오페이", "네이버페이"]
COURIERS = ["CJ대한통운", "우체국택배", "한진택배", "롯데택배", "로젠택배", "쿠팡로켓배송"]
STOCKS = [
    "삼성전자",
    "에코프로",
    "SK하이닉스",
    "카카오",
    "네이버",
    "LG에너지솔루션",
    "현대차",
    "셀트리온",
    "포스코홀딩스",
    "한미반도체",
    "두산에너빌리티",
]
COINS = ["비트코인", "이더리움", "리플", "도지코인", "솔라나", "에이다"]
FAKE_COINS = ["메타썬코인", "ZELOS", "KCT토큰", "슈퍼엑스", "골드체인", "NEXA"]
COMPANIES = ["삼성", "현대", "네이버", "카카오", "LG", "CJ", "롯데", "쿠팡", "중소기업", "공기업"]
FAKE_COMPANIES = ["한국투자연구소", "골드리서치", "주식명가", "프라임인베스트", "수익창출센터", "VIP증권클럽"]
SUBJECTS = ["경영학원론", "통계학", "전공", "교양", "영어", "회계원리", "데이터분석", "캡스톤"]
GAMBLING_SITES = [
    "마카오VIP",
    "로얄카지노",
    "킹덤토토",
    "승리벳",
    "황금성",
    "슬롯천국",
    "벳클럽",
    "에이스토토",
    "카지노킹",
    "라스베가스",
    "제우스벳",
]
RELATIVES = ["부친", "모친", "조모", "조부", "장인어른", "시어머니"]
PARTIES = ["새미래당", "국민행복당", "시민연합", "우리미래당", "민생회복연대"]
CANDIDATES = ["홍길동", "박정민", "이한결", "김세윤", "정다운", "최우진"]
GIRL_NAMES = ["지은", "수진", "하나", "나연", "소라", "미유", "유리"]
WORDS_FOR_DOMAINS = [
    "lucky",
    "vip",
    "win",
    "bet",
    "cash",
    "loan",
    "goods",
    "gift",
    "event",
    "k-bank",
    "okmoney",
    "safe",
    "cj-post",
    "epost",
    "fast",
    "king",
    "gold",
    "daily",
    "hot",
    "star",
]
SPAM_TLDS = ["com", "kr", "co.kr", "net", "xyz", "top", "me", "shop", "site", "info", "cc", "vip"]
SHORTENERS = ["bit.ly", "han.gl", "me2.do", "vo.la", "url.kr", "t.ly", "buly.kr", "c11.kr", "naver.me"]

# ---------------------------------------------------------------------------
# Everyday talk (일상대화) templates, grouped by topic.  A message samples
# 1-4 sentences of one topic (kept in list order) plus optional fillers.
# ---------------------------------------------------------------------------

HAM_TOPICS: dict[str, list[str]] = {
    "plans": [
        "{day} {time}에 {place}에서 보자",
        "이번 주말에 시간 돼? {food} 먹으러 가자",
        "{name}도 온대? 몇 명이서 보는 거야",
        "{place} 쪽에 새로 생긴 {food}집 괜찮대",
        "예약은 내가 {time}에 해놨어 4명이야",
        "나 {place} 도착했어 어디야?",
        "미안 차가 막혀서 10분 정도 늦을 것 같아",
        "여기 위치야 {url_map}",
        "그럼 {day}에 보는 걸로 하자",
        "출발할 때 연락줘",
        "나 오늘 좀 피곤해서 다음에 보면 안 될까",
        "2번 출구 앞에 있어 파란 옷 입었어",
    ],
    "family": [
        "엄마 나 오늘 저녁 먹고 들어갈게",
        "아빠 생신 선물 뭐 사드릴지 정했어?",
        "{family} 내일 몇 시에 도착해요?",
        "할머니 댁에 {day} 가기로 했대",
        "집에 올 때 {shop}에서 우유랑 계란 좀 사와",
        "엄마가 김치 보냈다고 택배 오면 냉장고에 넣어두래",
        "어머니 저 이번 주말에 내려갈게요",
        "아버지 병원 예약 {date} {time}에 잡았어요",
        "설에 다 같이 모이는 거 맞지?",
        "동생 학원 끝나면 데리러 가야 돼",
        "{family}가 너 보고 싶대 전화 한번 드려",
        "엄마 나 폰 충전기 두고 왔어 혹시 보이면 챙겨줘",
    ],
    "work_school": [
        "내일 {subject} 과제 마감이 몇 시까지였지?",
        "팀장님 회의 자료 메일로 보내드렸습니다",
        "오늘 야근이라 늦을 듯",
        "교수님이 {day} 수업 휴강이래",
        "출근했는데 아무도 없어 ㅋㅋ",
        "{name} 대리님 내일 외근이시라 미팅은 다음 주로 미뤘어요",
        "조별과제 자료 단톡방에 올려놨어 확인해줘",
        "나 이번에 {company} 면접 붙었어!!",
        "월급 들어오면 맛있는 거 쏠게",
        "보고서 수정본 다시 보내드릴게요 확인 부탁드립니다",
        "시험 끝나면 {food} 먹으러 가자",
        "과장님 오늘 반차 쓰셨대요 결재는 내일 받아야 할 것 같아요",
        "알바 끝나고 바로 갈게 {time}쯤?",
    ],
    "food": [
        "점심 뭐 먹지 {food} 어때",
        "어제 먹은 {food} 진짜 맛있었어",
        "{place} {food}집 웨이팅 1시간이래 ㅋㅋ",
        "배달 시킬 건데 {food} 먹을 사람?",
        "다이어트 한다며 야식 또 먹었어?",
        "나 요즘 {food}에 꽂혔어",
        "여기 맛집이래 {url_map}",
        "엄마표 {food} 먹고 싶다",
        "배민 쿠폰 있어서 {food} 시켰어",
        "{food} 먹고 카페 가자 내가 커피 살게",
    ],
    "weather": [
        "밖에 비 엄청 와 우산 챙겨",
        "오늘 미세먼지 최악이래 마스크 꼭 써",
        "내일 눈 온대 출근 어떡하지",
        "날씨 좋은데 한강 갈래?",
        "태풍 온다는데 창문 잘 닫아놔",
        "완전 추워 패딩 꺼냈어",
        "오늘 진짜 덥다 에어컨 없으면 못 살 듯",
        "벚꽃 폈더라 주말에 보러 가자",
    ],
    "health": [
        "감기 걸려서 오늘 하루 종일 누워있었어",
        "병원 다녀왔는데 장염이래",
        "약 꼭 챙겨 먹어",
        "요즘 허리가 너무 아파서 도수치료 받으러 다녀",
        "헬스장 등록했어 이번엔 진짜 열심히 할 거야",
        "아빠 건강검진 결과 괜찮대",
        "실비보험 청구하려면 영수증 필요하대",
        "치과 예약 {day} {time}이야 같이 가줄 수 있어?",
        "어제 너무 무리했나 봐 온몸이 쑤셔",
    ],
    "hobbies": [
        "어제 축구 봤어? 손흥민 골 미쳤다",
        "이번 주에 캠핑 갈 건데 같이 갈래?",
        "넷플릭스에 새로 나온 거 재밌더라",
        "요즘 뜨개질 배우는 중 ㅋㅋ",
        "{day}에 풋살 한 명 비는데 올 수 있어?",
        "콘서트 티켓팅 성공했어!!",
        "롤 한 판 ㄱㄱ",
        "야구 보러 가자 이번에 잠실에서 한대",
        "스포츠토토 그런 거 말고 그냥 직관이 최고지",
        "러닝 크루 오픈채팅방 링크야 {url_open}",
        "이 영상 완전 웃겨 {url_video}",
        "사진 보내줄게 완전 잘 나왔어",
    ],
    "shopping": [
        "{shop}에서 {product} 할인하더라",
        "편의점 1+1 이벤트 하길래 두 개 샀어",
        "{shop} 쿠폰 있는데 필요하면 줄게",
        "{product} 샀는데 사이즈가 안 맞아서 환불해야 돼",
        "블프 때 {product} 반값이었대 놓쳤어",
        "이거 어때? {url_shop}",
        "올리브영 세일 언제까지야?",
        "당근에서 {product} {money_s}에 샀어 ㅋㅋ",
        "적립금 들어와서 거의 공짜로 샀어",
        "{shop} 타임세일 떠서 {product} 질렀다",
        "무료배송이라 그냥 시켰어",
    ],
    "delivery": [
        "택배 왔어? 나 어제 보냈는데",
        "{courier} 조회해보니까 오늘 도착이래",
        "택배 경비실에 맡겨놨대",
        "주소 잘못 써서 반송됐대 다시 보내야 할 듯",
        "배송 조회하면 아직 집하 중이래 ㅋㅋ",
        "선물 보냈어 {day}쯤 도착할 거야",
        "아까 택배기사님이 전화하셨는데 못 받았어",
        "송장번호 보내줄게 {tracking}",
        "문 앞에 두고 가셨대 들어갈 때 챙겨",
    ],
    "money": [
        "어제 밥값 {money_s} 보낼게",
        "{bank} 계좌로 보냈어 확인해봐",
        "회비 {money_s}씩 걷는다네",
        "나 {money_s} 정도 빌려줄 수 있어? 월급날 바로 줄게",
        "토스로 보냈어~",
        "더치페이 하자 1인당 {money_s}",
        "축의금 얼마 해야 돼? 보통 {money_s} 하던데",
        "카카오페이로 정산 요청 보냈어",
        "계좌번호 알려줘 {bank} 맞지?",
        "지난번에 빌린 돈 {money_s} 방금 보냈어 고마워",
        "이번 달 카드값 {money_m} 나왔어 미쳤나 봐",
        "{bank} {acct} 여기로 보내주면 돼",
    ],
    "spamwords": [
        "엄마 전세대출 때문에 은행 다녀왔어",
        "대출 이자 또 올랐대 진짜 큰일이다",
        "{bank} 가서 적금 하나 들었어",
        "주담대 금리 비교해봤는데 {bank} 쪽이 제일 낮더라",
        "학자금대출 다 갚았다!!!",
        "회사 앞 카페 오픈 이벤트로 아메리카노 무료래",
        "{shop} 앱 깔면 쿠폰 준대 너도 받아",
        "친구 추천하면 둘 다 5천원 적립이래 추천코드 {code}",
        "요즘 주식 어때? 나 {stock} 물렸어",
        "코인 아직 해? {coin} 또 떨어졌더라",
        "전세 대출 한도가 생각보다 적게 나왔어",
        "신용대출 받아서 차 살까 고민 중이야",
        "이번 이벤트 당첨돼서 {product} 받았어 ㅋㅋ",
        "마카오 가면 카지노 구경은 해보자",
        "카지노 나오는 드라마 봤는데 재밌더라",
        "보험 갱신한다고 설계사님이 전화하셨어",
        "부업으로 스마트스토어 해볼까 생각 중",
        "알바 구했어 {place} 카페 주말 알바",
        "{stock} 오늘 상한가 갔대 부럽다",
        "대출 금리 {rate}%래 예전보다 많이 올랐지",
    ],
    "spam_talk": [
        "엄마 이상한 문자 오면 링크 절대 누르지 마",
        "방금 택배 주소 확인하라는 문자 왔는데 스팸이지?",
        "이모가 부고 문자 링크 눌렀다가 폰 해킹당할 뻔했대",
        "아빠 주식 리딩방 같은 거 들어가지 마 다 사기래",
        "결제 승인 문자 왔길래 놀랐는데 내가 쓴 거였네",
        "요즘 저금리 대출 해준다는 문자 하루에 다섯 통은 와",
        "무료수신거부 번호로 전화해도 계속 오더라",
        "카지노 광고 문자 또 왔어 번호 차단했음",
        "엄마 나 번호 안 바꿨어 누가 나라고 하면 사기야",
        "모르는 번호로 청첩장 링크 오면 누르지 마세요",
        "고수익 알바라는 거 다 사기래 조심해",
        "{bank} 사칭 문자 돌고 있대 조심해",
    ],
    "phone_share": [
        "{name} 번호야 {phone} 연락해봐",
        "새 번호야 저장해줘 {phone}",
        "가게 번호 {phone_svc} 여기로 예약하면 돼",
        "폰 바꿨어 카톡은 그대로야",
        "부동산 사장님 번호 {phone} 내일 전화해봐",
        "수리기사님 번호 남겨둘게 {phone}",
        "학원 상담은 {phone_svc}로 하면 된대",
    ],
    "links": [
        "이 기사 봤어? {url_news}",
        "여기 사진 예쁘다 {url_insta}",
        "이거 봐 ㅋㅋㅋ {url_video}",
        "우리 여행 숙소 여기 어때 {url_shop}",
        "청첩장 보내요~ 꼭 와줘 {url_wedding}",
        "블로그 후기 보니까 괜찮대 {url_blog}",
    ],
    "polite": [
        "사장님 이번 달 월세 입금했습니다 확인 부탁드립니다",
        "안녕하세요 당근 보고 연락드립니다 {product} 아직 판매하시나요?",
        "선생님 안녕하세요 {name} 엄마입니다 오늘 아이가 아파서 결석합니다",
        "부장님 내일 회의는 {time}에 3층 회의실에서 진행하겠습니다",
        "안녕하세요 학부모님 {day} 상담 가능하실까요?",
        "네 확인했습니다 감사합니다",
        "늦은 시간에 죄송합니다 내일 연락드리겠습니다",
        "혹시 {day} 오후에 통화 가능하실까요?",
        "택배 보냈습니다 송장번호는 {tracking}입니다",
        "입금 확인했습니다 좋은 하루 되세요^^",
        "관리비 {money_s} 이번 주까지 납부 부탁드려요",
        "{name} 씨 내일 계약서 가지고 {place}에서 뵙겠습니다",
        "교수님 안녕하세요 {subject} 수강생입니다 과제 제출 기한 문의드립니다",
        "집주인입니다 보일러 수리기사님이 {day} {time}에 방문하신대요",
        "안녕하세요 모임 회비 안내드립니다 1인당 {money_s}이고 {bank} {acct}로 보내주세요",
    ],
    "smalltalk": [
        "뭐해?",
        "자?",
        "오늘 하루 어땠어?",
        "생일 축하해!! 오늘 맛있는 거 많이 먹어",
        "헐 대박 진짜?",
        "나 오늘 완전 멘붕이야",
        "요즘 어떻게 지내 얼굴 좀 보자",
        "잘 도착했어?",
        "오랜만이야~ 잘 지내지?",
        "아 맞다 그거 어떻게 됐어?",
        "집에 가는 중",
        "그거 완전 웃기다 ㅋㅋㅋㅋ",
        "고마워 덕분에 살았다",
        "내일 시험 잘 봐 화이팅",
    ],
}

# Short interjections / closers that are attached to ham messages.
HAM_FILLERS = [
    "ㅋㅋㅋ",
    "ㅋㅋㅋㅋㅋ",
    "ㅎㅎ",
    "^^",
    "ㅠㅠ",
    "ㅜㅜ",
    "ㅇㅇ",
    "ㅇㅋ",
    "ㄱㄱ",
    "ㄴㄴ",
    "헐",
    "대박",
    "아 맞다",
    "근데",
    "암튼",
    "알겠어~",
    "고마워!",
    "ㄳㄳ",
    "오키",
    "넵",
    "네 알겠습니다",
    "그럼 이따 봐",
    "연락해",
    "나중에 통화해",
    "답장 늦어서 미안",
    "ㅇㅈ",
    "ㄹㅇ",
    "^^;",
    "ㅎㅎㅎ",
    "ㅋㅋ",
    "흠",
    "ㅇㅇ 알았어",
    "넹",
    "ㅜ",
]

# ---------------------------------------------------------------------------
# Spam (스팸문자) templates, grouped by topic; sentences are ordered roughly
# hook -> details -> call to action, and that order is kept when sampling.
# ---------------------------------------------------------------------------

SPAM_TOPICS: dict[str, list[str]] = {
    "loan": [
        "{full_name} 팀장입니다",
        "고객님 {bank} 정부지원 저금리 대출 대상자로 선정되셨습니다",
        "햇살론 특례보증 마감 임박! 선착순 접수 중입니다",
        "최대 {money_b} 한도, 연 {rate}% 고정금리 당일 입금 가능합니다",
        "신용점수 상관없이 무직자, 주부, 대학생도 가능합니다",
        "기존 고금리 대출을 저금리로 대환해 드립니다",
        "서류 없이 비대면으로 5분 만에 한도 조회하세요",
        "전세대출 갈아타기 금리 {rate}%부터",
        "상담문의 {phone_svc}",
        "신청하기 {url}",
        "카톡 ID: {kakao_id} 로 문의주세요",
    ],
    "gambling": [
        "국내 최대 토토사이트 {site} 먹튀 없는 안전놀이터",
        "신규 가입 시 첫충 {pct}% 보너스 지급!",
        "실시간 바카라, 슬롯, 라이브 카지노 24시간 운영",
        "스포츠 배팅 한도 무제한 환전 3분 컷",
        "가입코드 {code} 입력 시 {money_s} 꽁머니 지급",
        "라이브 카지노 VIP 회원 모집 중",
        "매일 돌발 이벤트 진행 지인 추천 시 추가 지급",
        "주소: {url}",
        "텔레그램 {tg}",
    ],
    "stock": [
        "[{fake_company}] 이번 주 급등 예상 종목 무료 공개",
        "지난주 추천 종목 {stock} +{pct}% 달성!",
        "세력 매집 포착 내일 상한가 예상 종목 선착순 30명 공개",
        "VIP 리딩방 무료 체험 3일 제공합니다",
        "원금 보장 월 수익률 {pct}% 이상",
        "주식 손실 복구 전문가가 1:1로 도와드립니다",
        "오픈채팅방 입장하기 {url_open}",
        "문의 {phone}",
    ],
    "phish_delivery": [
        "[{courier}] 고객님의 택배가 주소불명으로 보관중입니다",
        "택배 주소지 불일치로 배송이 보류되었습니다",
        "[우체국] 등기 우편물 2회 미배달로 반송 예정입니다",
        "주소 확인 부탁드립니다 {url}",
        "배송 조회 {url}",
    ],
    "phish_payment": [
        "해외결제 {money_s} 승인되었습니다",
        "[{card}] {money_s} 결제 승인 완료",
        "고객님 명의로 신규 휴대폰이 개통되었습니다",
        "본인 결제가 아니면 즉시 문의 바랍니다",
        "본인이 아닐 경우 {phone_svc} 신고",
    ],
    "phish_account": [
        "고객님의 {app} 계정이 비정상 로그인으로 일시 정지되었습니다",
        "고객님 {bank} 보안 등급이 낮아 이용이 제한되었습니다",
        "계정 보호를 위해 아래 링크에서 본인인증을 진행해 주세요",
        "{url}",
    ],
    "phish_gov": [
        "[국민건강보험] 건강검진 결과 통보서 확인하기 {url}",
        "[경찰청] 교통법규 위반 과태료 고지서 발송 안내 {url}",
        "미납된 통행료 {money_s} 기한 내 납부 바랍니다 {url}",
        "[국세청] 미환급 세금 {money_s} 환급 신청 안내 {url}",
        "[법원] 전자소송 등기 발송 확인 {url}",
    ],
    "smishing": [
        "[부고] {relative}께서 별세하셨기에 삼가 알려드립니다",
        "고인의 명복을 빕니다 빈소 위치 확인 {url}",
        "부의금 계좌 안내 {url}",
        "모바일 청첩장 보내드립니다 저희 결혼합니다 {url}",
        "{name}님 돌잔치에 초대합니다 {url}",
        "초대장 확인 부탁드려요 {url}",
    ],
    "shop_ad": [
        "[{fake_shop}] 시즌오프 최대 {pct}% 할인! 오늘 자정까지",
        "회원님께만 드리는 {money_s} 할인쿠폰이 발급되었습니다",
        "전 상품 무료배송 + 1+1 이벤트 진행 중",
        "신규 오픈 기념 선착순 100명 {product} 증정!",
        "사장님이 미쳤어요! 재고 정리 땡처리",
        "적립금 {money_s} 소멸 예정 지금 사용하세요",
        "{place} {fake_shop} 그랜드 오픈 방문 시 사은품 증정",
        "쿠폰 다운받기 {url}",
        "매장 문의 {phone_svc}",
    ],
    "adult": [
        "오늘 밤 외로우신가요? 주변 20대 여성과 즉석 만남",
        "♥{age}세 {girl}님이 메시지를 보냈습니다♥",
        "무료 채팅 가입만 해도 포인트 지급",
        "조건 없는 만남 비밀 100% 보장",
        "성인 인증 없이 바로 시청 {url}",
        "출장 마사지 24시 {phone}",
        "지금 접속 중인 회원 확인하기 {url}",
    ],
    "job": [
        "재택 부업 하루 1~2시간 일당 {money_s} 지급",
        "고수익 알바 모집! 단순 타이핑 스마트폰만 있으면 OK",
        "월 {money_m} 보장 경력 무관 주부 환영",
        "쇼핑몰 리뷰 작성만 하면 건당 {money_s}",
        "유튜브 좋아요 누르기 알바 당일 정산",
        "면접 없이 바로 시작 가능합니다",
        "지원 문의 카톡 {kakao_id}",
    ],
    "crypto": [
        "비트코인 자동매매 프로그램 수익률 {pct}% 인증",
        "신규 상장 코인 {fake_coin} 에어드랍 이벤트 참여하세요",
        "거래소 가입 시 {money_s} 상당 코인 지급",
        "{coin} 폭등 시그널 무료 제공 방",
        "코인 손실 보상 신청 안내 {url}",
        "텔레그램 문의 {tg}",
    ],
    "insurance": [
        "보험료 폭탄 걱정 끝! 실비보험 무료 비교 견적",
        "암보험 진단비 최대 {money_b} 보장",
        "납입 중인 보험 리모델링 무료 상담",
        "치아보험 가입 시 {product} 증정",
        "상담 신청 {phone_svc}",
    ],
    "politics_event": [
        "[{party}] {city} 지역 발전을 위한 {candidate} 후보 정책 설명회에 초대합니다",
        "여론조사 전화 오면 꼭 {candidate} 후보 지지 부탁드립니다",
        "{date} {place} 광장에서 시민 한마당 축제 개최",
        "경품 추첨 이벤트 당첨! 수령 안내 {url}",
        "축하합니다! {product} 당첨자로 선정되셨습니다",
        "설문 참여 시 스타벅스 기프티콘 100% 증정",
        "참여하기 {url}",
    ],
    # The topics below imitate personal messages: no [광고] header or footer.
    "friendly": [
        "오랜만이야~ 잘 지내지?",
        "요즘 부업으로 월 {money_m} 벌고 있는데 관심 있으면 연락줘 {phone}",
        "나 요즘 좋은 투자 정보방 들어갔는데 같이 할래? {url_open}",
        "안녕하세요 예전에 {place}에서 뵀던 사람인데 기억하세요? ㅎㅎ",
        "번호가 바뀌었어요~ 카톡 친추 부탁해요 {kakao_id}",
        "누나 내 친구가 하는 쇼핑몰인데 오늘까지 90% 세일이래 {url}",
        "잘못 보냈나요? 혹시 {name}씨 아닌가요?",
        "우리 동창회 사진 올렸어 확인해봐 {url}",
        "이거 너 아니야? ㅋㅋㅋ {url}",
        "나 요즘 코인으로 {money_m} 벌었어 방법 알려줄까?",
        "저번에 말한 알바 아직 자리 있대 {phone} 여기로 연락해봐",
    ],
    "family_scam": [
        "{family} 나 폰 액정 깨져서 수리 맡겼어 이 번호로 문자해",
        "나 지금 폰 고장나서 PC로 문자하는 거야",
        "급하게 문화상품권 사야 되는데 카드 사진 좀 보내줄 수 있어?",
        "인증번호 오면 좀 알려줘",
        "{money_s} 급하게 이 계좌로 보내줄 수 있어? {bank} {acct}",
        "지금 통화가 안 돼서 그래 이따 설명할게",
        "이 링크로 앱 하나만 깔아줘 {url}",
        "바쁘면 답장만 해줘",
    ],
    "casual": [
        "ㅎㅇ 오늘 경기 픽 공유함 {url}",
        "형님 이번 주 픽 또 적중했습니다 ㅋㅋ",
        "방 들어오세요 {url_open}",
        "자기야 나 기억나? 어제 찍은 사진 보낼게 {url}",
        "오빠 오늘 시간 돼? 나 {place} 근처야 ㅎㅎ",
        "사진 확인해줘 {url}",
        "혹시 {day} {time}에 시간 되세요? 좋은 정보 있어서요",
        "택배 보냈어 주소 맞는지 확인해줘 {url}",
        "모임 사진 올렸어요 {url}",
        "{name}야 나 급한데 {money_s} 빌려줄 수 있어? 이 번호로 연락해 {phone}",
        "이번 주 경기 결과 미리 알려줄게 ㅋㅋ 믿고 따라와",
        "안녕하세요 {place} 근처 사시죠? 친구해요 ㅎㅎ",
        "오늘 {time}에 잠깐 통화 가능하세요? 돈 되는 얘기예요",
    ],
}

FRIENDLY_SPAM_TOPICS = ("friendly", "family_scam", "smishing", "casual")
# Phishing imitates institutions: no ad header, no opt-out footer.
PHISHING_TOPICS = ("phish_delivery", "phish_payment", "phish_account", "phish_gov")

# Generic calls to action appended to non-friendly spam.
SPAM_CTAS = [
    "지금 바로 신청하세요",
    "선착순 마감",
    "문의: {phone_svc}",
    "24시간 상담 가능",
    "자세한 내용은 링크 확인 {url}",
    "카톡 상담 {kakao_id}",
    "오늘만 이 가격!",
    "▶ {url}",
    "클릭 {url}",
    "상담원 연결 {phone}",
    "마감 임박!!",
    "한정 수량",
]
# Ham that forwards a spam text: "intro + quoted spam + optional outro".
FORWARD_INTROS = [
    "엄마 이 문자 뭐야?",
    "이거 스팸 맞지?",
    "이런 문자 왔는데 진짜야?",
    "ㅋㅋㅋ 너도 이런 거 와?",
    "아빠 이런 거 누르면 안 돼요",
    "방금 이거 왔어 ㅠㅠ",
    "이거 보이스피싱이지?",
    "헐 나 이거 받았어",
    "언니 이 문자 좀 봐봐",
    "회사 폰으로 이런 게 왔네",
]
FORWARD_OUTROS = [
    "ㅋㅋㅋ",
    "차단했어",
    "무시해",
    "누르지 마",
    "어이없다 진짜",
    "신고함",
    "ㅠㅠ 무서워",
    "이거 뭐임?",
    "← 이런 문자 옴",
    "진짜인 줄 알았네",
    "ㅡㅡ",
    "이거 맞아?",
]
AD_PREFIXES = ["[광고]", "(광고)", "[Web발신]", "[Web발신] (광고)", "광고)", "<광고>"]
PHISHING_PREFIXES = ["[Web발신]", "[국제발신]", "[해외발신]"]
SPAM_BULLETS = ["▶", "■", "★", "※", "✔", "-", "☞", "◆"]

# Words that obfuscated spam disguises; longer entries first.
OBFUSCATION_KEYWORDS = [
    "수신거부",
    "리딩방",
    "저금리",
    "비트코인",
    "바카라",
    "카지노",
    "상한가",
    "대출",
    "토토",
    "슬롯",
    "수익",
    "무료",
    "입금",
    "당첨",
    "광고",
    "코인",
    "성인",
    "만남",
    "알바",
    "부업",
    "배팅",
    "보너스",
    "한도",
    "주식",
    "급등",
    "할인",
    "쿠폰",
    "환전",
    "첫충",
    "가입",
    "보장",
    "지급",
    "이벤트",
]
# Look-alike spellings mixing Latin letters, digits and jamo.
LOOKALIKES: dict[str, list[str]] = {
    "카지노": ["CASINO", "C@sino", "ca$ino", "ㅋr지노", "카G노"],
    "토토": ["TOTO", "t0to", "T0T0", "ㅌo토", "토T0"],
    "바카라": ["BACCARAT", "바ㅋr라", "ba카라"],
    "대출": ["대ㅊㅜㄹ", "Dae출", "머니대출"],
    "코인": ["COIN", "c0in", "코1ㄴ"],
    "보너스": ["B0NUS", "bonus", "보ㄴㅓ스"],
    "무료": ["FREE", "무ㄹyo", "mu료"],
    "배팅": ["BET", "b3tting", "배T"],
    "슬롯": ["SL0T", "sLot"],
    "이벤트": ["EVENT", "2벤트", "ㅇl벤트"],
}
SEPARATORS = [".", " ", "*", "_", "-", "/", "·", "♥", "☆", "|", "^", "~"]

# Common casual misspellings applied to a fraction of (mostly ham) messages.
TYPOS: list[tuple[str, str]] = [
    ("했어", "햇어"),
    ("갈게", "갈께"),
    ("됐", "됬"),
    ("같아", "가타"),
    ("괜찮", "괜찬"),
    ("진짜", "진쨔"),
    ("어떡해", "어떻해"),
    ("몇 시", "몇시"),
    ("내일", "낼"),
    ("그래", "그랭"),
    ("있어", "잇어"),
    ("없어", "업어"),
    ("먹을", "먹을ㄹ"),
    ("할게", "할께"),
    ("보낼게", "보낼께"),
    ("바로", "바루"),
    ("문의", "문이"),
    ("확인", "활인"),
    ("가능", "가늘"),
    ("신청", "신쳥"),
]

HANGUL_BASE = 0xAC00
CHOSEONG = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
JUNGSEONG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
JONGSEONG = [
    "",
    "ㄱ",
    "ㄲ",
    "ㄳ",
    "ㄴ",
    "ㄵ",
    "ㄶ",
    "ㄷ",
    "ㄹ",
    "ㄺ",
    "ㄻ",
    "ㄼ",
    "ㄽ",
    "ㄾ",
    "ㄿ",
    "ㅀ",
    "ㅁ",
    "ㅂ",
    "ㅄ",
    "ㅅ",
    "ㅆ",
    "ㅇ",
    "ㅈ",
    "ㅊ",
    "ㅋ",
    "ㅌ",
    "ㅍ",
    "ㅎ",
]
FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
CIRCLED_DIGITS = str.maketrans("0123456789", "⓪①②③④⑤⑥⑦⑧⑨")

# ---------------------------------------------------------------------------
# Slots as data.  Every ``{slot}`` of a template names an entry of SLOTS: a
# list of formats, one picked with ``rng.choice`` (a single format is used
# without a draw), whose ``{fields}`` are then drawn left to right:
#
#   {d4}      4 random digits              {d1-3}    1 to 3 random digits
#   {a8}      8 random letters or digits   {a4-8}    4 to 8 of them
#   {u6}      6 random capitals or digits  {200-999} a random integer
#   {x|y|}    one of the options, "" included
#   {@name}   a fresh value of slot ``name``
#   {name}    a field named in Formats.first / Formats.then
#
# A plain value list (names, shops, ...) is a list of formats without fields.
# The draw order is that of the hand-written generators this table replaced,
# which is why some slots are Formats (fields drawn before the pick, a field
# drawn after it whether used or not, a weighted pick) and why a repeated
# format ("010-{mid}-{last}") is listed twice rather than weighted: the same
# seed keeps giving the same file.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Formats:
    """A slot's formats with the draws around the pick spelled out."""

    formats: tuple[str, ...]
    # Pick with one ``rng.random()`` against these cumulative weights instead of ``rng.choice``.
    cum_weights: tuple[float, ...] | None = None
    # Named fields drawn before the pick (in this order), then right after it, used or not.
    first: dict[str, str] = field(default_factory=dict)
    then: dict[str, str] = field(default_factory=dict)


TEN_THOUSANDS = "|".join(f"{5000 * i:,}" for i in range(1, 11))  # 5,000|10,000|...|50,000
MILLIONS = "|".join(f"{m * 1_000_000:,}" for m in (1, 2, 3, 5, 10, 30, 50))

SLOT_TABLE: dict[str, str | list[str] | Formats] = {
    "name": NAMES,
    "full_name": FULL_NAMES,
    "family": FAMILY,
    "place": PLACES,
    "city": CITIES,
    "time": TIMES,
    "day": DAYS,
    "food": FOODS,
    "product": PRODUCTS,
    "shop": SHOPS,
    "fake_shop": FAKE_SHOPS,
    "bank": BANKS,
    "card": CARDS,
    "app": APPS,
    "courier": COURIERS,
    "stock": STOCKS,
    "coin": COINS,
    "fake_coin": FAKE_COINS,
    "company": COMPANIES,
    "fake_company": FAKE_COMPANIES,
    "subject": SUBJECTS,
    "site": GAMBLING_SITES,
    "relative": RELATIVES,
    "party": PARTIES,
    "candidate": CANDIDATES,
    "girl": GIRL_NAMES,
    # Numbers and codes.
    "age": "{20-34}",
    "pct": "{10|20|30|50|70|80|100|150|200|300}",
    "rate": "{2-9}.{0-9}",
    "code": Formats(("{letters}", "{digits}"), first={"letters": "u6", "digits": "d6"}),
    "kakao_id": "{vip|money|lee|kim|happy|ok|best}{d2-4}",
    "tg": "@{bet|casino|coin|vip|signal|toto}{d3}",
    "date": Formats(
        ("{month}월 {day}일", "{month}/{day}", "{month}.{day}"), first={"month": "1-12", "day": "1-28"}
    ),
    "acct": "{110|3333|1002|352}-{d3}-{d6}",
    "tracking": ["{d4} {d4} {d4}", "{d4}{d4}{d4}", "{d4}-{d4}-{d4}"],
    # Phone numbers: mobile, business / call-centre / landline, the 080 opt-out footer of ads.
    "phone": Formats(
        ("010-{mid}-{last}", "010-{mid}-{last}", "010{mid}{last}", "010.{mid}.{last}", "010 {mid} {last}"),
        first={"mid": "d4", "last": "d4"},
    ),
    "phone_svc": [
        "{1588|1577|1644|1661|1600|1899|1566}-{d4}",
        "02-{200-999}-{d4}",
        "070-{d4}-{d4}",
        "0{31|32|51|53|42}-{200-999}-{d4}",
    ],
    "optout": "{무료수신거부|수신거부|무료거부|거부:} {@reject}",
    "reject": ["080-{100-999}-{d4}", "080{100-999}{d4}", "080-{100-999}{d4}"],
    # Money: everyday amounts, monthly sums, large amounts.
    "money_s": Formats(
        ("{man}만원", "{3-99},000원", "{man}만 {1-9}천원", "{1-9}천원", f"₩{{{TEN_THOUSANDS}}}", "{man}만"),
        then={"man": "1-30"},
    ),
    "money_m": "{150|200|250|300|400|500|700|1000}만{원||원}",
    "money_b": [
        "{100|200|300|500|700|800|1000|1500|3000}만원",
        f"{{{MILLIONS}}}원",
        "{1-9}천만원",
        "{1-5}억",
        "{200|300|500|1000}만",
    ],
    # Links: shady (short link, odd TLD, bare domain) for spam; real services for both classes.
    "url": Formats(
        (
            "https://{@shortener}/{a4-8}",
            "http://{word}{d1-3}.{@spam_tld}",
            "{word}{1-99}.{kr|com|xyz|top}",
            "{@shortener}/{a4-8}",
        ),
        then={"word": "@domain_word"},
    ),
    "short_url": "{https://|http://|}{@shortener}/{a4-8}",
    "shortener": SHORTENERS,
    "spam_tld": SPAM_TLDS,
    "domain_word": WORDS_FOR_DOMAINS,
    "url_map": [
        "https://naver.me/{a8}",
        "https://place.map.kakao.com/{d8}",
        "https://m.place.naver.com/restaurant/{d10}/home",
        "https://kko.to/{a10}",
        "{@short_url}",
    ],
    "url_news": [
        "https://n.news.naver.com/article/{d3}/{d10}",
        "https://v.daum.net/v/{d14}",
        "naver.me/{a8}",
    ],
    "url_video": Formats(("{@short_url}", "{@youtube}"), cum_weights=(0.2, 1.0)),
    "youtube": [
        "https://youtu.be/{a11}",
        "https://www.youtube.com/shorts/{a11}",
        "youtube.com/watch?v={a11}",
    ],
    "url_insta": Formats(("{@short_url}", "{@instagram}"), cum_weights=(0.2, 1.0)),
    "instagram": ["https://www.instagram.com/p/{a11}/", "instagram.com/reel/{a11}"],
    "url_shop": [
        "https://link.coupang.com/a/{a6}",
        "https://smartstore.naver.com/{@domain_word}shop/products/{d10}",
        "https://www.musinsa.com/app/goods/{d7}",
        "https://bit.ly/{a7}",
    ],
    "url_blog": "https://blog.naver.com/{@blog_id}{d2}/{d12}",
    "blog_id": [w.replace("-", "") for w in WORDS_FOR_DOMAINS],
    "url_wedding": [
        "https://m.barunsonmcard.com/m/{a8}",
        "https://bojagicard.com/i/{a8}",
        "https://naver.me/{a8}",
    ],
    "url_open": "https://open.kakao.com/o/{a8}",
}


def as_formats(spec: str | list[str] | Formats) -> Formats:
    """A SLOT_TABLE entry as Formats (a string is one format, a list is picked uniformly)."""
    if isinstance(spec, Formats):
        return spec
    return Formats((spec,) if isinstance(spec, str) else tuple(spec))


SLOTS: dict[str, Formats] = {name: as_formats(spec) for name, spec in SLOT_TABLE.items()}
CHAR_POOLS = {
    "d": string.digits,
    "a": string.ascii_lowercase + string.digits + string.ascii_uppercase,
    "u": string.ascii_uppercase + string.digits,
}
FIELD_RE = re.compile(r"\{([^{}]*)\}")
CHARS_RE = re.compile(r"([dau])(\d+)(?:-(\d+))?")
INT_RE = re.compile(r"(\d+)-(\d+)")
SLOT_RE = re.compile(r"\{(\w+)\}")


def draw_field(spec: str, rng: random.Random, named: dict[str, str]) -> str:
    """The value of one ``{field}`` of a format (syntax in the table's header)."""
    if spec in named:
        return named[spec]
    if spec.startswith("@"):
        return draw_slot(spec[1:], rng)
    if "|" in spec:
        return rng.choice(spec.split("|"))
    if chars := CHARS_RE.fullmatch(spec):
        pool, low, high = chars.groups()
        n = int(low) if high is None else rng.randint(int(low), int(high))
        return "".join(rng.choice(CHAR_POOLS[pool]) for _ in range(n))
    if bounds := INT_RE.fullmatch(spec):
        return str(rng.randint(int(bounds[1]), int(bounds[2])))
    raise ValueError(f"unknown slot field {{{spec}}}")


def draw_slot(name: str, rng: random.Random) -> str:
    """A fresh value of slot ``name``: named fields first, pick a format, fields after, then the format's
    own."""
    slot = SLOTS[name]
    named = {key: draw_field(spec, rng, {}) for key, spec in slot.first.items()}
    if slot.cum_weights is not None:
        fmt = rng.choices(slot.formats, cum_weights=slot.cum_weights)[0]
    else:
        fmt = slot.formats[0] if len(slot.formats) == 1 else rng.choice(slot.formats)
    named |= {key: draw_field(spec, rng, {}) for key, spec in slot.then.items()}
    return FIELD_RE.sub(lambda match: draw_field(match.group(1), rng, named), fmt)


def fill(template: str, rng: random.Random, cache: dict[str, str]) -> str:
    """Replace every ``{slot}``; a slot repeated within one message keeps its value."""

    def repl(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in cache:
            cache[key] = draw_slot(key, rng)
        return cache[key]

    return SLOT_RE.sub(repl, template)


def pick_sentences(pool: list[str], k: int, rng: random.Random) -> list[str]:
    """Sample ``k`` sentences from ``pool`` keeping their original order."""
    idx = sorted(rng.sample(range(len(pool)), min(k, len(pool))))
    return [pool[i] for i in idx]


# ---------------------------------------------------------------------------
# Noise: obfuscation, typos, spacing.
# ---------------------------------------------------------------------------


def decompose_syllable(ch: str) -> str:
    """'대' -> 'ㄷㅐ' (compatibility jamo); non-Hangul characters pass through."""
    code = ord(ch) - HANGUL_BASE
    if not 0 <= code < 11172:
        return ch
    cho, rest = divmod(code, 21 * 28)
    jung, jong = divmod(rest, 28)
    return CHOSEONG[cho] + JUNGSEONG[jung] + JONGSEONG[jong]


def obfuscate_word(word: str, rng: random.Random) -> str:
    """Disguise one keyword: separators, bare jamo, look-alikes or spacing."""
    method = rng.randrange(4)
    if method == 0:
        return rng.choice(SEPARATORS).join(word)
    if method == 1:
        pos = rng.randrange(len(word))
        return word[:pos] + decompose_syllable(word[pos]) + word[pos + 1 :]
    if method == 2 and word in LOOKALIKES:
        return rng.choice(LOOKALIKES[word])
    return " ".join(word) if rng.random() < 0.5 else "-".join(word)


def obfuscate(text: str, rng: random.Random) -> str:
    """Apply 1-3 obfuscations: keywords, digits (full-width / circled) and spacing."""
    present = [w for w in OBFUSCATION_KEYWORDS if w in text]
    rng.shuffle(present)
    for word in present[: rng.randint(1, 3)]:
        text = text.replace(word, obfuscate_word(word, rng), 1)
    roll = rng.random()
    if roll < 0.25:
        text = text.translate(FULLWIDTH_DIGITS)
    elif roll < 0.40:
        text = text.translate(CIRCLED_DIGITS)
    if not present or rng.random() < 0.2:
        # Odd spacing: spread out one Hangul-only token.
        tokens = text.split(" ")
        candidates = [
            i for i, t in enumerate(tokens) if 2 <= len(t) <= 5 and all("가" <= c <= "힣" for c in t)
        ]
        if candidates:
            i = rng.choice(candidates)
            tokens[i] = " ".join(tokens[i])
            text = " ".join(tokens)
    return text


def add_typos(text: str, rng: random.Random) -> str:
    """Introduce one or two casual misspellings or a doubled character."""
    for _ in range(rng.randint(1, 2)):
        options = [pair for pair in TYPOS if pair[0] in text]
        if options and rng.random() < 0.7:
            src, dst = rng.choice(options)
            text = text.replace(src, dst, 1)
        elif len(text) > 3:
            pos = rng.randrange(len(text))
            if "가" <= text[pos] <= "힣":
                text = text[:pos] + text[pos] + text[pos:]
    return text


def drop_spaces(text: str, rng: random.Random, rate: float) -> str:
    """Remove a fraction of the spaces (common in fast casual typing)."""
    return "".join(c for c in text if not (c == " " and rng.random() < rate))


def casual_ending(sentence: str, rng: random.Random) -> str:
    """Vary the end of a casual sentence: nothing, ~, !!, ??, ㅋㅋ, ..."""
    if sentence[-1] in "?!~" or sentence[-1].isascii():
        return sentence  # keep links, numbers and existing punctuation intact
    return sentence + rng.choice(["", "", "", "~", ".", "!!", "ㅋㅋ", "..", "ㅎㅎ", "!"])


# ---------------------------------------------------------------------------
# Message composition.
# ---------------------------------------------------------------------------

HAM_TOPIC_NAMES = list(HAM_TOPICS)
# Topics whose sentences address different people: keep those messages short.
HAM_MAX_SENTENCES = {"polite": 2, "phone_share": 2, "links": 2, "smalltalk": 2, "spam_talk": 2}
# Harder ham topics (spam vocabulary, links, numbers, polite register) are drawn more often.
HAM_TOPIC_WEIGHTS = [
    3.0
    if t in ("spamwords", "spam_talk", "money", "shopping", "polite")
    else 2.0
    if t in ("phone_share", "links", "delivery")
    else 1.5
    for t in HAM_TOPIC_NAMES
]
SPAM_TOPIC_NAMES = list(SPAM_TOPICS)
SPAM_TOPIC_WEIGHTS = [
    2.5 if t in ("friendly", "family_scam", "casual") else 1.5 if t == "smishing" else 1.0
    for t in SPAM_TOPIC_NAMES
]
# Topics whose sentences are alternative messages rather than parts of one.
SPAM_MAX_SENTENCES = {"phish_gov": 1, "smishing": 2, "politics_event": 3}
AD_TOPIC_NAMES = [t for t in SPAM_TOPIC_NAMES if t not in FRIENDLY_SPAM_TOPICS]


def make_ham(rng: random.Random) -> str:
    """One everyday message: 1-4 sentences of a topic, fillers, casual noise."""
    if rng.random() < FORWARD_RATE:
        return make_forwarded(rng)
    topic = rng.choices(HAM_TOPIC_NAMES, HAM_TOPIC_WEIGHTS)[0]
    k = rng.choices([1, 2, 3, 4], [35, 30, 22, 13])[0]
    sentences = pick_sentences(HAM_TOPICS[topic], min(k, HAM_MAX_SENTENCES.get(topic, 4)), rng)
    if rng.random() < 0.2:
        other = rng.choice(HAM_TOPIC_NAMES)
        sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(HAM_TOPICS[other]))
    # Each ham sentence gets fresh slot values (different people, numbers, links).
    parts = [casual_ending(fill(s, rng, {}), rng) for s in sentences]
    if rng.random() < 0.4:
        filler = rng.choice(HAM_FILLERS)
        parts.insert(0 if rng.random() < 0.35 else len(parts), filler)
    text = " ".join(parts)
    if rng.random() < 0.15:
        text = add_typos(text, rng)
    if rng.random() < 0.15:
        text = drop_spaces(text, rng, rng.uniform(0.2, 0.8))
    return text


def make_forwarded(rng: random.Random) -> str:
    """Ham that quotes a spam text to a friend ("엄마 이 문자 뭐야? ...")."""
    body = " ".join(spam_body(rng, rng.choice(AD_TOPIC_NAMES), max_sentences=2))
    if rng.random() < 0.3:
        body = f"{rng.choice(PHISHING_PREFIXES)} {body}"
    if rng.random() < 0.5:
        body = f'"{body}"'
    if rng.random() < 0.7:
        parts = [rng.choice(FORWARD_INTROS), body]
        if rng.random() < 0.4:
            parts.append(rng.choice(FORWARD_OUTROS))
    else:  # only a short remark after the quoted text
        parts = [body, rng.choice(FORWARD_OUTROS)]
    return " ".join(parts)


def spam_body(rng: random.Random, topic: str, max_sentences: int = 4) -> list[str]:
    """The core sentences of a spam message of ``topic`` (no decoration).

    Slot values are shared across the sentences, so a repeated link or phone
    number stays the same within one message.
    """
    friendly = topic in FRIENDLY_SPAM_TOPICS
    k = rng.choices([1, 2, 3, 4], [35, 40, 20, 5] if friendly else [20, 35, 30, 15])[0]
    k = min(k, max_sentences, SPAM_MAX_SENTENCES.get(topic, 4))
    sentences = pick_sentences(SPAM_TOPICS[topic], k, rng)
    if not friendly and rng.random() < 0.3:
        sentences.append(rng.choice(SPAM_CTAS))
    cache: dict[str, str] = {}
    parts = [fill(s, rng, cache) for s in sentences]
    if friendly:
        parts = [casual_ending(p, rng) for p in parts]
    return parts


def make_spam(rng: random.Random) -> str:
    """One spam message: topic sentences, optional header / bullets / footer, noise."""
    topic = rng.choices(SPAM_TOPIC_NAMES, SPAM_TOPIC_WEIGHTS)[0]
    parts = spam_body(rng, topic)
    if topic in FRIENDLY_SPAM_TOPICS:
        if rng.random() < WARMUP_RATE:
            # Scammers often open with ordinary small talk.
            parts.insert(0, casual_ending(fill(rng.choice(HAM_TOPICS["smalltalk"]), rng, {}), rng))
        if rng.random() < 0.15:
            parts.append(rng.choice(["ㅎㅎ", "^^", "ㅋㅋ", "ㅠㅠ"]))
    else:
        if rng.random() < 0.2:
            bullet = rng.choice(SPAM_BULLETS)
            parts = parts[:1] + [f"{bullet} {p}" for p in parts[1:]]
        phishing = topic in PHISHING_TOPICS
        if rng.random() < PREFIX_RATE:
            parts.insert(0, rng.choice(PHISHING_PREFIXES if phishing else AD_PREFIXES))
        if not phishing and rng.random() < FOOTER_RATE:
            parts.append(draw_slot("optout", rng))
    text = " ".join(parts)
    if rng.random() < OBFUSCATION_RATE:
        text = obfuscate(text, rng)
    if rng.random() < 0.05:
        text = add_typos(text, rng)
    if rng.random() < 0.08:
        text = drop_spaces(text, rng, rng.uniform(0.3, 1.0))
    return text


def unique_messages(
    maker: Callable[[random.Random], str], n: int, rng: random.Random, seen: set[str]
) -> list[str]:
    """Draw ``n`` messages not yet in ``seen`` (regenerating on collision)."""
    out: list[str] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > n * 50:
            raise RuntimeError("too many duplicate messages; add more templates")
        msg = re.sub(r"\s+", " ", maker(rng)).strip()
        if msg and msg not in seen:
            seen.add(msg)
            out.append(msg)
    return out


def ham_messages(rows: int, spam_rate: float) -> int:
    """How many of ``rows`` messages to generate as everyday talk for ``spam_rate`` spam labels after the
    noise.

    Flipping a uniform ``LABEL_NOISE_RATE`` (f) of the rows turns a generated spam
    share p into an expected label share R = p (1 - 2f) + f; the ham share 1 - p is
    (1 - R - f) / (1 - 2f), which for the default R is exactly the float 0.55 the
    generator has always used, so every ``--rows`` keeps its former class counts.
    """
    ham_share = (1 - spam_rate - LABEL_NOISE_RATE) / (1 - 2 * LABEL_NOISE_RATE)
    return round(rows * ham_share)


def generate(rows: int, seed: int, spam_rate: float = DEFAULT_SPAM_RATE) -> list[tuple[str, str]]:
    """Build the shuffled (content, class) rows, with ~2% of labels flipped."""
    rng = random.Random(seed)
    n_ham = ham_messages(rows, spam_rate)
    seen: set[str] = set()
    ham = unique_messages(make_ham, n_ham, rng, seen)
    spam = unique_messages(make_spam, rows - n_ham, rng, seen)
    data = [(m, HAM_LABEL) for m in ham] + [(m, SPAM_LABEL) for m in spam]
    rng.shuffle(data)
    flip = {HAM_LABEL: SPAM_LABEL, SPAM_LABEL: HAM_LABEL}
    for i in rng.sample(range(rows), round(rows * LABEL_NOISE_RATE)):
        content, label = data[i]
        data[i] = (content, flip[label])
    return data


def write_csv(rows: list[tuple[str, str]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerow(["content", "class"])
        for content, label in rows:
            assert "\n" not in content and "\r" not in content
            writer.writerow([content, label])


def parse_spam_rate(text: str) -> float:
    """Parse ``--spam-rate``: a share strictly between the label-noise rate and 1 minus it."""
    low, high = LABEL_NOISE_RATE, 1 - LABEL_NOISE_RATE
    try:
        rate = float(text)
    except ValueError:
        rate = float("nan")
    if not low < rate < high:  # NaN fails this too
        raise argparse.ArgumentTypeError(
            f"must be a number strictly between {low:g} and {high:g} (the {low:.0%} label noise alone gives "
            f"either label that share), got {text!r}"
        )
    return rate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4000, help="number of messages (default 4000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--spam-rate",
        type=parse_spam_rate,
        default=DEFAULT_SPAM_RATE,
        metavar="R",
        help=f"expected share of {SPAM_LABEL} labels in the file, label noise included "
        f"(default {DEFAULT_SPAM_RATE}: 45%% generated as spam, then 2%% of the labels flipped)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "spam_sample.csv",
        help="output CSV (default data/spam_sample.csv)",
    )
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be positive")
    rows = generate(args.rows, args.seed, args.spam_rate)
    write_csv(rows, args.out)
    counts = {HAM_LABEL: 0, SPAM_LABEL: 0}
    for _, label in rows:
        counts[label] += 1
    print(
        f"wrote {len(rows)} rows to {args.out}: {counts}, {counts[SPAM_LABEL] / len(rows):.2%} {SPAM_LABEL}"
    )


if __name__ == "__main__":
    main()
