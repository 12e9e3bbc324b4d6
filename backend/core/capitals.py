"""Amounts in Chinese capitals (人民币大写金额), as an invoice prints its 价税合计（大写）.

The rules of the People's Bank of China for writing amounts on bills (《支付结算办法》附件
《正确填写票据和结算凭证的基本规定》), as invoices apply them:

- the digits 零壹贰叁肆伍陆柒捌玖, the places 拾佰仟 in a group of four, the groups 万 and 亿
  (万亿 for the group above 亿); the highest digit is always written, so ¥16.15 is
  壹拾陆元壹角伍分, never 拾陆元…;
- one 零 for a run of zeros between two written digits (1,001 → 壹仟零壹; 100,005 → 壹拾万零伍;
  1,000,005 → 壹佰万零伍), none for trailing zeros (1,000 → 壹仟); a 零 where a whole
  group of 4 is zero or starts with zeros is written once before the next written digit;
- 元 after the yuan, then 整 when there are neither 角 nor 分 (1,130 → 壹仟壹佰叁拾元整);
  角 ends without 整 (0.50 → 伍角; 1.50 → 壹元伍角); a 分 after 元 with no 角 takes a
  零 (10,005.07 → 壹万零伍元零柒分); less than one yuan starts at its 角 or 分 (0.07 → 柒分);
  zero is 零元整;
- the rules let a 零 be left out where the 元 place (or the 万 place) is zero but the 角
  (or 仟) place is not: 1,680.32 is written 壹仟陆佰捌拾元叁角贰分 and 107,000.53 壹拾万柒仟元
  伍角叁分 here (the short form, as invoices print them).

A negative amount (a red-letter note's) is 负 followed by its absolute value's words.
"""

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")
MAX_FEN = 10**18 - 1  # 9,999,9999,9999,9999.99 yuan: four groups of four digits


def _group(value):
    """1..9999 in words, without leading 零 (the caller writes the 零 between groups)."""
    out, zero = [], False
    for place in (3, 2, 1, 0):
        digit = value // 10**place % 10
        if digit == 0:
            zero = zero or bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(DIGITS[digit] + PLACES[place])
    return "".join(out)


def _yuan_words(yuan):
    """Whole yuan > 0 in words (without 元)."""
    groups = []
    while yuan:
        groups.append(yuan % 10000)
        yuan //= 10000
    # the group names: 万 above the ones, 亿 above that; the fourth group is 万 of 亿
    # (1,2345,0000,0000 → 壹万贰仟叁佰肆拾伍亿), 万亿 when the 亿 group is zero
    names = ["", "万", "亿", "万" if len(groups) > 3 and groups[2] else "万亿"]
    out, zero = [], False
    for i in reversed(range(len(groups))):
        value = groups[i]
        if value == 0:
            zero = zero or bool(out)
            continue
        if out and (zero or value < 1000):
            out.append("零")
        out.append(_group(value) + names[i])
        zero = False
    return "".join(out)


def capitals(fen) -> str:
    """An amount of fen in Chinese capitals: 113000 → '壹仟壹佰叁拾元整', 1000507 →
    '壹万零伍元零柒分', 50 → '伍角', 0 → '零元整', -11300 → '负壹佰壹拾叁元整'. Integers only
    (no floats for money), at most MAX_FEN in absolute value."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("capitals() takes an integer number of fen")
    if fen < 0:
        return "负" + capitals(-fen)
    if fen > MAX_FEN:
        raise ValueError(f"at most {MAX_FEN} fen")
    yuan, jiao, cents = fen // 100, fen // 10 % 10, fen % 10
    if fen == 0:
        return "零元整"
    out = _yuan_words(yuan) + "元" if yuan else ""
    if jiao == 0 and cents == 0:
        return out + "整"
    if jiao:
        out += DIGITS[jiao] + "角"
    elif yuan:
        out += "零"  # 元零柒分: the zero 角 between 元 and 分
    if cents:
        out += DIGITS[cents] + "分"
    return out
