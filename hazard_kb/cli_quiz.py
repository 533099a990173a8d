"""`hazard-kb quiz`: generate a training quiz from the rules, take it in the terminal, or export it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

quiz_app = typer.Typer(help="Training quizzes generated from the rules (判断、单选、多选、数值), keyed by the engine.",
                       no_args_is_help=True)

STANDARD = typer.Option(None, "--standard", "-s", help="标准 id, e.g. gongmao-2023")
INDUSTRY = typer.Option([], "--industry", "-i", help="行业, e.g. 冶金 (repeatable)")
REGIME = typer.Option([], "--regime", "-r", help="专项领域, e.g. 粉尘涉爆 (repeatable)")
ARTICLE = typer.Option(None, "--article", "-a", help="gongmao-2023/art11, art11 (with --standard) or 第十一条")
DIFFICULTY = typer.Option(None, "--difficulty", "-d", help="easy | medium | hard")
KIND = typer.Option([], "--kind", "-k", help="判断题 单选题 多选题 数值题 (repeatable; default all)")
N = typer.Option(10, "--n", "-n", min=1, max=100, help="number of questions")
SEED = typer.Option(None, "--seed", help="random seed: the same options and seed give the same quiz")


def _engine():
    from hazard_kb.engine.service import default_engine

    return default_engine()


def _quiz(standard, industry, regime, article, difficulty, kind, n, seed):
    from hazard_kb.engine.quiz import QuizInputError, generate_quiz

    params = {"standard": standard, "industry": list(industry), "regime": list(regime), "article": article,
              "difficulty": difficulty, "kinds": list(kind), "n": n, "seed": seed}
    try:
        return generate_quiz(_engine(), params)
    except QuizInputError as exc:
        for p in exc.problems:
            near = f"; did you mean {', '.join(p.suggestions)}?" if p.suggestions else ""
            option = {"kinds": "kind", "body": "options"}.get(str(p.loc[0]), str(p.loc[0]))
            typer.echo(f"--{option}: {p.msg}" + (f" (expected {p.expected})" if p.expected else "") + near, err=True)
        raise typer.Exit(2)


def _print_question(q, show_answer: bool = False) -> None:
    typer.echo(f"\n{q.id}. 【{q.kind}】（难度：{ {'easy': '易', 'medium': '中', 'hard': '难'}[q.difficulty] }）")
    typer.echo(q.stem)
    if q.kind != "判断题":
        for o in q.options:
            typer.echo(f"  {o.key}. {o.text}")
    if show_answer:
        typer.echo(q.explanation)


def _header(quiz) -> str:
    counts = "，".join(f"{k} {v}" for k, v in quiz.counts.items())
    return f"测验 {quiz.id}：{len(quiz.questions)} 题（{counts}）；seed {quiz.seed}；知识库 {quiz.kb_version}"


@quiz_app.command("generate")
def generate(standard: Optional[str] = STANDARD, industry: list[str] = INDUSTRY, regime: list[str] = REGIME,
             article: Optional[str] = ARTICLE, difficulty: Optional[str] = DIFFICULTY, kind: list[str] = KIND,
             n: int = N, seed: Optional[int] = SEED,
             as_json: bool = typer.Option(False, "--json", help="the whole quiz as JSON (with answers and scenarios)"),
             answers: bool = typer.Option(False, "--answers", help="print the answers and explanations too")) -> None:
    """Generate a quiz and print it."""
    quiz = _quiz(standard, industry, regime, article, difficulty, kind, n, seed)
    if as_json:
        typer.echo(json.dumps(quiz.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    typer.echo(_header(quiz))
    for note in quiz.notes:
        typer.echo(f"注意：{note}")
    for q in quiz.questions:
        _print_question(q, answers)


def _prompt_hint(q) -> str:
    return {"判断题": "正确/错误（对/错）", "单选题": "选项字母", "多选题": "选项字母，如 AC", "数值题": f"数值（{q.unit}）"}[q.kind]


@quiz_app.command("take")
def take(standard: Optional[str] = STANDARD, industry: list[str] = INDUSTRY, regime: list[str] = REGIME,
         article: Optional[str] = ARTICLE, difficulty: Optional[str] = DIFFICULTY, kind: list[str] = KIND,
         n: int = N, seed: Optional[int] = SEED) -> None:
    """Take a quiz in the terminal: answer each question, then see the score and the legal basis of every answer."""
    from hazard_kb.engine.quiz_grade import grade, parse_answer

    quiz = _quiz(standard, industry, regime, article, difficulty, kind, n, seed)
    typer.echo(_header(quiz))
    answers = {}
    for q in quiz.questions:
        _print_question(q)
        while True:
            raw = typer.prompt(f"你的答案（{_prompt_hint(q)}）")
            try:
                answers[q.id] = parse_answer(q, raw)
                break
            except ValueError as exc:
                typer.echo(f"无法识别：{exc}。请重新输入。")
    result = grade(quiz, answers)
    typer.echo("\n" + "=" * 60)
    for r in result.results:
        mark = "✓" if r.correct else "✗"
        typer.echo(f"\n{r.id} {mark} 你的答案：{_show(r.given)}；正确答案：{r.answer_text}")
        typer.echo(r.explanation)
    typer.echo(f"\n得分：{result.score}/{result.total}（{result.percent}%）")


def _show(value) -> str:
    if isinstance(value, bool):
        return "正确" if value else "错误"
    if isinstance(value, list):
        return "".join(value)
    return str(value)


@quiz_app.command("export")
def export(standard: Optional[str] = STANDARD, industry: list[str] = INDUSTRY, regime: list[str] = REGIME,
           article: Optional[str] = ARTICLE, difficulty: Optional[str] = DIFFICULTY, kind: list[str] = KIND,
           n: int = N, seed: Optional[int] = SEED,
           fmt: str = typer.Option(..., "--format", "-f", help="xlsx (Excel question bank) or moodle (Moodle XML)"),
           output: Path = typer.Option(..., "--output", "-o", help="file to write")) -> None:
    """Export a quiz: an Excel question bank (题型, 题干, 选项A–D, 答案, 解析) or Moodle XML."""
    from hazard_kb.engine.quiz_export import to_moodle_xml, to_xlsx

    fmt = fmt.lower()
    if fmt not in ("xlsx", "moodle"):
        typer.echo(f"--format: unknown format {fmt!r} (expected xlsx or moodle)", err=True)
        raise typer.Exit(2)
    quiz = _quiz(standard, industry, regime, article, difficulty, kind, n, seed)
    (to_xlsx if fmt == "xlsx" else to_moodle_xml)(quiz, output)
    typer.echo(f"wrote {output}: {_header(quiz)}")
