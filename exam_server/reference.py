"""Reference data of the city: counties, industries, job categories (shared by demo and generator)."""

from __future__ import annotations

# Linyi's county-level divisions (GB/T 2260 codes); the high-tech zone uses a local code.
COUNTIES: tuple[tuple[str, str], ...] = (
    ("371302", "兰山区"),
    ("371311", "罗庄区"),
    ("371312", "河东区"),
    ("371321", "沂南县"),
    ("371322", "郯城县"),
    ("371323", "沂水县"),
    ("371324", "兰陵县"),
    ("371325", "费县"),
    ("371326", "平邑县"),
    ("371327", "莒南县"),
    ("371328", "蒙阴县"),
    ("371329", "临沭县"),
    ("371371", "临沂高新区"),
)

TOWNSHIPS_PER_COUNTY = 12
_TOWNSHIP_ROOTS = (
    "城关",
    "东关",
    "西城",
    "南坊",
    "北园",
    "汪沟",
    "马厂",
    "青驼",
    "白沙",
    "岸堤",
    "朱家",
    "李官",
    "柳青",
    "金雀",
    "梁丘",
    "铜井",
    "大店",
    "义堂",
    "朱保",
    "重坊",
    "胡阳",
    "相公",
    "傅庄",
    "新桥",
)

INDUSTRIES: tuple[tuple[str, str], ...] = (
    ("hazchem", "危险化学品"),
    ("noncoal_mine", "非煤矿山"),
    ("metallurgy", "冶金"),
    ("construction", "建筑施工"),
    ("fireworks", "烟花爆竹"),
    ("nonferrous", "有色金属"),
    ("building_materials", "建材"),
    ("machinery", "机械"),
    ("light_industry", "轻工"),
    ("textile", "纺织"),
    ("tobacco", "烟草"),
    ("commerce", "商贸"),
    ("road_transport", "道路运输"),
    ("gas", "城镇燃气"),
    ("dust_explosion", "粉尘涉爆"),
    ("ammonia_refrigeration", "涉氨制冷"),
    ("power", "电力"),
    ("warehousing_logistics", "仓储物流"),
    ("crowded_places", "人员密集场所"),
)


def township_names(county_index: int) -> list[str]:
    """Return the township names of one county, distinct within the city."""
    names = []
    for i in range(TOWNSHIPS_PER_COUNTY):
        root = _TOWNSHIP_ROOTS[(county_index * 5 + i) % len(_TOWNSHIP_ROOTS)]
        names.append(f"{root}{'街道' if i < 3 else '镇'}")
    return names


_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code(county_code: str, serial: int) -> str:
    """Return a well-formed synthetic unified social credit code (GB 32100-2015 check char)."""
    body = "91" + county_code + f"{serial:09d}"
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(body, _CREDIT_WEIGHTS, strict=False))
    return body + _CREDIT_CHARS[(31 - total % 31) % 31]
