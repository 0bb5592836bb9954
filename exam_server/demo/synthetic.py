"""Synthetic but well-formed people: names and citizen IDs for demos, tests and the generator."""

from __future__ import annotations

import random
from datetime import date, timedelta

from exam_server import localday
from exam_server.citizen_id import check_digit

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国志宏斌峰海波鑫宇浩凯健俊帅淑兰凤梅琴云莲真环雪荣爱妹香月莺媛瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"


def person_name(rng: random.Random) -> str:
    """Return a plausible Chinese name."""
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given


def citizen_id(
    rng: random.Random, region_code: str, *, min_age: int = 18, max_age: int = 60, today: date | None = None
) -> str:
    """Return a valid-format citizen ID for a working-age person born in ``region_code``."""
    today = today or localday.today()
    birth = today - timedelta(days=rng.randint(min_age * 365 + 5, max_age * 365 - 5))
    first17 = f"{region_code}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + check_digit(first17)
