"""Seeded generator of synthetic department books for the benchmarks.

``python benchmarks/generate.py OUT --books 200 --projects 25 [--seed 1] [--layout template|seed|mixed]``
writes OUT/dept_0001.xlsx … : each a department of 2–4 units and ``--projects`` projects with
realistic Chinese names, amounts and indicators, and some defects (missing plans, missing values,
costs in 百分比, copied indicator sets). ``template`` books are written by perfxl's own writer;
``seed`` books are typed in the 2021 draft's layout with openpyxl (tests/seedlayout.py), each with
its own hand-made variations (:func:`seed_variant`: shifted tables, 万元, split codes, blank rows,
full-width text, every table on one sheet, extra sheets);
``mixed`` alternates the two (odd books template, even books seed layout).

``--distinct N`` (for a province of thousands of books, which openpyxl would take hours to
write): the first N books are drawn as above, each later book is a copy of one of them with
every project code changed (:func:`renamed`), so no two books share a code and each book is read
and checked in full.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

PLACES = ("山海关区", "海港区", "北戴河区", "抚宁区", "昌黎县", "卢龙县", "青龙满族自治县")
DEPARTMENTS = ("行政审批局", "财政局", "教育局", "卫生健康局", "民政局", "交通运输局", "自然资源局",
               "生态环境局", "农业农村局", "文化广电和旅游局", "市场监督管理局", "应急管理局")
SUBJECTS = ("专家评审", "网络建设", "设备购置", "政务服务", "信息系统运维", "档案数字化", "人员培训",
            "宣传教育", "安全生产检查", "农村公路养护", "学校校舍维修", "基层卫生服务", "社区养老服务",
            "河道治理", "环境监测", "文物保护", "市场抽检", "应急物资储备", "便民热线", "乡村振兴帮扶")
KINDS = ("经费", "专项资金", "补助资金", "项目资金", "工作经费", "运维费", "购置费")
INDICATORS: dict[tuple[str, str], list[tuple[str, str, str]]] = {
    ("产出指标", "数量指标"): [("培训人次(人次)", "全年组织培训的人次", "≥{n} 人次"),
                           ("检查单位数(家)", "全年检查的单位数量", "≥{n} 家"),
                           ("设备购置数量(台)", "购置设备的数量", "={n} 台")],
    ("产出指标", "质量指标"): [("验收合格率", "通过验收的比例", "≥{p}%"),
                           ("办件准确率", "办件无差错的比例", "≥{p}%")],
    ("产出指标", "时效指标"): [("完成时间", "项目完成的时间", "{y}年{m}月底"),
                           ("办结时限", "事项平均办结时间", "≤{d}天")],
    ("产出指标", "成本指标"): [("项目成本", "项目全年支出总额", "≤{c}元"),
                           ("单位成本", "每件事项的平均成本", "≤{u}元")],
    ("效益指标", "社会效益指标"): [("服务覆盖率", "服务覆盖人群的比例", "≥{p}%"),
                             ("群众知晓率", "群众知晓政策的比例", "≥{p}%")],
    ("效益指标", "经济效益指标"): [("节约成本", "比上年节约的成本", "≥{u}元")],
    ("效益指标", "可持续影响指标"): [("长效机制", "建立长效工作机制", "达到"),
                               ("持续运行年限", "设施持续运行的年限", "≥{d}年")],
    ("满意度指标", "服务对象满意度指标"): [("服务对象满意度", "抽样调查中满意的比例", "≥{p}%")],
}
BASES = ("年度工作计划", "计划标准", "行业标准", "历史标准", "预算支出标准")


def department(i: int, projects: int, rng: random.Random) -> Any:
    from perfxl.model import Department, Indicator, Project, Unit

    place, dept_name = rng.choice(PLACES), rng.choice(DEPARTMENTS)
    n_units = rng.randint(2, 4)
    base = 600000 + i * 10
    units = [Unit(f"{base + k + 1:06d}", f"{place}{dept_name}{'本级' if k == 0 else f'下属单位{k}'}")
             for k in range(n_units)]
    out: list[Project] = []
    shared = None
    for s in range(1, projects + 1):
        unit = units[min(n_units - 1, (s - 1) * n_units // projects)]
        budget = Decimal(rng.randint(20, 5000) * 1000) + Decimal(rng.choice((0, 50, 99))) / 100
        other = Decimal(0) if rng.random() < 0.7 else (budget * Decimal(rng.randint(1, 3)) / 10) \
            .quantize(Decimal("0.01"))
        fiscal = budget - other
        name = f"{rng.choice(SUBJECTS)}{rng.choice(KINDS)}"
        plan = None if rng.random() < 0.05 else (Decimal(25), Decimal(50), Decimal(75), Decimal(100))
        inds = []
        for (l1, l2), pool in INDICATORS.items():
            for level3, desc, value in rng.sample(pool, k=min(len(pool), rng.randint(1, 2))):
                v = value.format(n=rng.randint(10, 500), p=rng.choice((85, 90, 95, 98)),
                                 y=2021, m=rng.randint(6, 12), d=rng.randint(3, 30),
                                 c=int(budget), u=rng.randint(100, 2000))
                if rng.random() < 0.02:
                    v = ""  # a missing value
                if l2 == "成本指标" and rng.random() < 0.1:
                    v = "≥95 百分比"  # the seed's cost-in-percent defect
                inds.append(Indicator(l1, l2, level3, desc, v, rng.choice(BASES)))
        if shared is None:
            shared = inds
        elif rng.random() < 0.1:
            inds = list(shared)  # a copied indicator set
        code = f"13030321{rng.randrange(36 ** 13):013X}"[:21].ljust(21, "0")
        out.append(Project(s, unit.code, unit.name, code, name, budget, fiscal, other,
                           f"用于{name}的支出", f"1. 完成{name}年度任务\n2. 提升服务质量",
                           plan, inds))
    return Department(name=f"{place}{dept_name}", year=2021, units=units, projects=out,
                      declared_total=sum((p.budget or Decimal(0) for p in out), Decimal(0)))


def seed_variant(rng: random.Random) -> dict[str, Any]:
    """How one hand-made book differs from the plain seed layout (tests/seedlayout.py's
    switches), drawn per book: offices shift the table, state 万元, split codes and so on."""
    return {"row_offset": rng.choice((0, 0, 1, 2, 3)), "col_offset": rng.choice((0, 0, 1, 2)),
            "wan_yuan": rng.random() < 0.3, "split_codes": rng.random() < 0.5,
            "blank_rows": rng.random() < 0.3, "full_width": rng.random() < 0.1,
            "one_sheet": rng.random() < 0.1,
            "extra_sheets": ("说明", "参考") if rng.random() < 0.2 else ()}


_CODE = re.compile(rb"13030321([0-9A-Z]{2})")
_DIGITS = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def renamed(source: Path, target: Path, copy: int) -> None:
    """``source`` written to ``target`` with two characters of every project code (the two after
    13030321, before any split of a hand-typed code) moved ``copy`` steps along, the same way
    for every code: codes stay distinct within the book and differ from every other copy's."""
    def move(m: re.Match[bytes]) -> bytes:
        n = (int(m.group(1), 36) + 37 * copy) % 36 ** 2
        return b"13030321" + bytes((_DIGITS[n // 36], _DIGITS[n % 36]))

    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith("xl/worksheets/") or info.filename.endswith(
                    "sharedStrings.xml"):
                data = _CODE.sub(move, data)
            zout.writestr(info, data)
    tmp.replace(target)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("out", type=Path)
    ap.add_argument("--books", type=int, default=200)
    ap.add_argument("--projects", type=int, default=25)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--layout", choices=("template", "seed", "mixed"), default="template")
    ap.add_argument("--distinct", type=int, default=0,
                    help="draw this many books; the others are copies with their codes changed")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT / "tests"))
    from perfxl.dataset import to_data
    from perfxl.template import write_book

    for i in range(1, args.books + 1):
        path = args.out / f"dept_{i:04d}.xlsx"
        if path.exists():
            continue
        if 0 < args.distinct < i:
            base = (i - 1) % args.distinct + 1
            renamed(args.out / f"dept_{base:04d}.xlsx", path, (i - 1) // args.distinct)
            continue
        dept = department(i, args.projects, random.Random(args.seed * 1_000_003 + i))
        layout = args.layout if args.layout != "mixed" else ("template", "seed")[1 - i % 2]
        if layout == "template":
            write_book(path, dept)
        else:
            from seedlayout import write_seed_layout_book

            write_seed_layout_book(path, to_data(dept),
                                   **seed_variant(random.Random(args.seed * 7_000_003 + i)))


if __name__ == "__main__":
    main()
