"""The shape of a pinpoint citation: <document>/<step>/<step>…, each step a kind and a number.

art (条), item (项), para (款), part and sec (divisions of documents issued without articles).
Examples: gongmao-2023/art12/item2, chengzhen-ranqi-2023/art8, gongmao-2017/part1/sec1/item3, huagong-2017/item4.
"""

PINPOINT = r"^[a-z0-9-]+(/(?:art|part|sec|item|para)\d+)+$"
