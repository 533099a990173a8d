"""The shape of a pinpoint citation: <document>/<step>/<step>…, each step a kind and a number.

art (条), item (项), sub (1. under an item), pt ((1) under a sub-item), para (款), part and sec (divisions of
documents issued without articles). Examples: gongmao-2023/art12/item2, chengzhen-ranqi-2023/art8,
gongmao-2017/part1/sec1/item3, huagong-2017/item4, fangwu-2024/art5/item4/sub2, meikuang-2026/table1/row2
(tables are numbered through the whole document, as printed: 表1).
"""

STEPS = "art|part|sec|item|sub|pt|para|table|row"
PINPOINT = rf"^[a-z0-9-]+(/(?:{STEPS})\d+)+$"
