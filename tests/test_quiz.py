"""Training quizzes (issue 6): every keyed answer is the engine's determination of the question's scenario,
distractors are real different items, every criterion can give a question, grading refuses missing, extra
and malformed answers by field, both exports read back, and a 20-question 工贸 2023 粉尘涉爆 quiz can be
generated, taken in the terminal, graded and exported."""

import html
import json
import re
import xml.etree.ElementTree as ET

import openpyxl
import pytest
from fastapi.testclient import TestClient
from starlette.routing import NoMatchFound
from typer.testing import CliRunner

from hazard_kb import cli_quiz
from hazard_kb.api.app import create_app
from hazard_kb.api.routes import quizzes as quiz_routes
from hazard_kb.cli_quiz import quiz_app
from hazard_kb.engine.quiz import KINDS, Quiz, QuizInputError, all_candidate_questions, generate_quiz
from hazard_kb.engine.quiz_export import XLSX_COLUMNS, to_moodle_xml, to_xlsx
from hazard_kb.engine.quiz_grade import grade

DUST = {"standard": "gongmao-2023", "regime": ["粉尘涉爆"], "n": 20, "seed": 7}
runner = CliRunner()


@pytest.fixture(scope="module")
def dust_quiz(engine) -> Quiz:
    return generate_quiz(engine, DUST)


@pytest.fixture(scope="module")
def mixed_quizzes(engine) -> list[Quiz]:
    """Quizzes over every standard, each kind well represented."""
    out = [generate_quiz(engine, {"n": 40, "seed": 11})]
    for std in sorted({c.standard for c in engine.kb.criteria.values()}):
        out.append(generate_quiz(engine, {"standard": std, "n": 12, "seed": 3}))
    out.append(generate_quiz(engine, {"kinds": ["数值题"], "n": 10, "seed": 1}))
    return out


def right_answers(quiz: Quiz) -> dict:
    return {q.id: q.answer for q in quiz.questions}


def typed(q) -> str:
    """The keyed answer as a person types it in the terminal."""
    if q.kind == "判断题":
        return "正确" if q.answer else "错误"
    if q.kind == "多选题":
        return "".join(q.answer)
    return str(q.answer)


def item(determination, pinpoint):
    return next(i for i in determination.items if i.pinpoint == pinpoint)


def check_against_engine(engine, q) -> None:
    """The keyed answer is what the engine determines for the question's scenario(s)."""
    kb = engine.kb
    if q.kind == "判断题":
        (s,) = q.scenarios
        d = engine.determine(s.inspection)
        verdict = item(d, s.criterion).verdict
        assert q.answer is (verdict == "violated"), q.key
        if not q.answer:
            assert verdict == "not_violated" and not d.hazards, q.key  # 不构成 under any item
    elif q.kind == "单选题":
        (s,) = q.scenarios
        d = engine.determine(s.inspection)
        keyed = q.option_criteria["ABCD".index(q.answer)]
        assert [h.pinpoint for h in d.hazards] == [keyed] == q.criteria, q.key
        for pin in q.option_criteria:
            if pin != keyed:
                assert item(d, pin).verdict != "violated"
    elif q.kind == "多选题":
        assert len(q.scenarios) == len(q.options) == 4
        for opt, s in zip(q.options, q.scenarios):
            d = engine.determine(s.inspection)
            violated = item(d, s.criterion).verdict == "violated"
            assert (opt.key in q.answer) is violated, q.key
            if not violated:
                assert not d.hazards
        assert q.answer and len(set(q.option_criteria)) == 4
    else:
        hazard_side, other_side = q.scenarios
        assert item(engine.determine(hazard_side.inspection), hazard_side.criterion).verdict == "violated"
        assert item(engine.determine(other_side.inspection), other_side.criterion).verdict == "not_violated"
        assert q.answer == q.threshold["value"]
        cond = next(c for b in kb.criteria[q.criteria[0]].branches for c in b.conditions if c.text == q.threshold["condition"])
        assert cond.value == q.answer and q.unit == kb.ontology.properties[q.threshold["property"]].unit


def check_distractors(engine, q) -> None:
    kb = engine.kb
    keyed = q.criteria[0]
    assert len(q.option_criteria) == 4 and len(set(q.option_criteria)) == 4
    texts = [kb.ontology.provisions[p].text for p in q.option_criteria]
    assert len(set(texts)) == 4, "distractors must differ from the answer and each other"
    std = kb.criteria[keyed].standard
    sectors = [*q.scenarios[0].inspection["enterprise"]["industries"], *q.scenarios[0].inspection["enterprise"]["regimes"]]
    for pin, opt in zip(q.option_criteria, q.options):
        assert pin in kb.criteria and kb.criteria[pin].standard == std  # a real item of the same standard
        assert kb.ontology.applies(pin, sectors)  # and of the enterprise's sector
        assert kb.ontology.provisions[pin].text in opt.text
        if pin != keyed:
            assert pin not in q.scenarios[0].hazards


# ------------------------------------------------------------------------------------------ the 粉尘涉爆 quiz

def test_dust_quiz_has_twenty_questions_on_article_11(dust_quiz, engine):
    assert len(dust_quiz.questions) == 20
    assert [q.id for q in dust_quiz.questions] == [f"q{i}" for i in range(1, 21)]
    assert set(dust_quiz.counts) >= {"判断题", "单选题", "多选题"}
    for q in dust_quiz.questions:
        assert all(c.startswith("gongmao-2023/art11/") for c in q.criteria), q.key
        check_against_engine(engine, q)
        assert "中华人民共和国应急管理部令第10号" in q.explanation and "第十一条" in q.explanation
        assert any(c.pinpoint in q.criteria for c in q.citations)


def test_same_seed_same_quiz_other_seed_other_quiz(engine, dust_quiz):
    again = generate_quiz(engine, DUST)
    assert [(q.key, q.stem, [o.text for o in q.options], q.answer) for q in again.questions] == \
           [(q.key, q.stem, [o.text for o in q.options], q.answer) for q in dust_quiz.questions]
    other = generate_quiz(engine, {**DUST, "seed": 8})
    assert [q.key for q in other.questions] != [q.key for q in dust_quiz.questions]


def test_no_duplicates_and_balanced_true_false(dust_quiz, mixed_quizzes, engine):
    tf_only = generate_quiz(engine, {"kinds": ["判断题"], "n": 15, "seed": 5})
    for quiz in [dust_quiz, tf_only, *mixed_quizzes]:
        keys = [q.key for q in quiz.questions]
        assert len(keys) == len(set(keys))
        stems = [q.stem + "".join(o.text for o in q.options) for q in quiz.questions]
        assert len(stems) == len(set(stems))
        used = [(s.rule, s.variant, s.broken) for q in quiz.questions if q.kind != "数值题" for s in q.scenarios]
        assert len(used) == len(set(used)), "a scenario is used once per quiz"
        tf = [q.answer for q in quiz.questions if q.kind == "判断题"]
        assert abs(tf.count(True) - tf.count(False)) <= 1
    assert len(tf_only.questions) == 15 and {q.kind for q in tf_only.questions} == {"判断题"}


# ------------------------------------------------------------------------------------------ keyed by the engine

def test_every_keyed_answer_is_the_engines_determination(engine, mixed_quizzes):
    seen = set()
    for quiz in mixed_quizzes:
        for q in quiz.questions:
            seen.add(q.kind)
            check_against_engine(engine, q)
            if q.kind == "单选题":
                check_distractors(engine, q)
    assert seen == set(KINDS)


def test_every_criterion_gives_a_question(engine):
    """All encoded items (185 when this was written): each gives at least one question keyed by the engine -
    a true 判断题 from a scenario the engine determines violated (re-determined here), and 单选题 whose
    distractors are real, different items."""
    kb = engine.kb
    assert len(kb.criteria) >= 185
    kinds = {}
    for pin in sorted(kb.criteria):
        questions = all_candidate_questions(engine, pin, near_misses=False)
        assert questions, f"{pin} gives no question"
        for q in questions:
            kinds[q.kind] = kinds.get(q.kind, 0) + 1
            if q.kind == "判断题":
                assert q.answer is True and q.scenarios[0].verdict == "violated"
            if q.kind == "单选题":
                check_distractors(engine, q)
        check_against_engine(engine, next(q for q in questions if q.kind == "判断题"))
    assert kinds["判断题"] >= len(kb.criteria) and kinds["单选题"] > len(kb.criteria) // 2 and kinds["数值题"] >= 5


def test_near_misses_break_one_condition_and_are_not_hazards(engine):
    """Over 工贸 2023: every false 判断题 is a scenario the engine determines 不构成 on its item with nothing else
    violated; the broken condition is the one the engine cites as refuting the branch."""
    kb = engine.kb
    falses = 0
    for pin in sorted(p for p in kb.criteria if p.startswith("gongmao-2023/")):
        for q in all_candidate_questions(engine, pin):
            if q.kind == "判断题" and q.answer is False:
                falses += 1
                (s,) = q.scenarios
                assert s.variant == "near-miss" and s.verdict == "not_violated" and not s.hazards
        one = next((q for q in all_candidate_questions(engine, pin) if q.kind == "判断题" and q.answer is False), None)
        if one is not None:
            check_against_engine(engine, one)
            d = engine.determine(one.scenarios[0].inspection)
            refuted = [r.condition for r in item(d, pin).not_violated_because
                       if f"{pin}#{r.branch}" == one.scenarios[0].rule]
            assert one.scenarios[0].broken in refuted
    assert falses > 2 * 64


def test_numeric_questions_ask_thresholds_written_in_the_text(engine, mixed_quizzes):
    numeric = [q for quiz in mixed_quizzes for q in quiz.questions if q.kind == "数值题"]
    assert numeric
    units = {q.unit for q in numeric}
    assert units & {"人", "kPa", "m"}
    for q in numeric:
        shown = q.stem.split("“", 1)[1].split("”", 1)[0]
        assert shown.count("____") == 1 and not re.search(rf"(?<![\d.]){re.escape(str(q.answer))}(?![\d.])", shown)
        assert q.scenarios[0].verdict == "violated" and q.scenarios[1].verdict == "not_violated"
    freeze = generate_quiz(engine, {"standard": "gongmao-2023", "article": "第十二条", "kinds": ["数值题"], "n": 3, "seed": 1})
    (q,) = freeze.questions
    assert q.answer == 9 and q.unit == "人" and "作业人员数量超过____人的" in q.stem
    assert "作业人员数量为10人时判定构成" in q.explanation and "为9人时" in q.explanation


# ------------------------------------------------------------------------------------------ selection

def test_selection_by_industry_article_difficulty_and_kind(engine):
    kb = engine.kb
    met = generate_quiz(engine, {"standard": "gongmao-2023", "industry": ["冶金"], "n": 12, "seed": 2})
    for q in met.questions:
        for pin in q.criteria:
            own = kb.ontology.applies_to.get(pin) or kb.ontology.applies_to.get(kb.ontology.provisions[pin].article)
            assert own is None or "Metallurgy" in own
    art = generate_quiz(engine, {"standard": "gongmao-2023", "article": "第十一条", "n": 5, "seed": 2})
    assert all(c.startswith("gongmao-2023/art11/") for q in art.questions for c in q.criteria)
    art2 = generate_quiz(engine, {"article": "gongmao-2017/part1/sec1", "n": 5, "seed": 2})
    assert all(c.startswith("gongmao-2017/part1/sec1/") for q in art2.questions for c in q.criteria)
    hard = generate_quiz(engine, {"standard": "gongmao-2023", "difficulty": "难", "n": 8, "seed": 2})
    assert hard.questions and all(q.difficulty == "hard" for q in hard.questions)
    only = generate_quiz(engine, {"kinds": ["single", "多选"], "n": 6, "seed": 2})
    assert {q.kind for q in only.questions} <= {"单选题", "多选题"} and len(only.questions) == 6


def test_bad_selection_names_each_field(engine):
    with pytest.raises(QuizInputError) as exc:
        generate_quiz(engine, {"standard": "gongmao-2033", "regime": ["粉尘"], "article": "art99", "difficulty": "x",
                               "kinds": ["判断x"], "n": 3})
    problems = {".".join(map(str, p.loc)): p for p in exc.value.problems}
    assert set(problems) == {"standard", "regime.0", "article", "difficulty", "kinds.0"}
    assert "gongmao-2023" in problems["standard"].suggestions
    assert "粉尘涉爆" in problems["regime.0"].suggestions
    with pytest.raises(QuizInputError, match="several standards"):
        generate_quiz(engine, {"article": "第五条", "n": 3})  # 工贸 2023 and 城镇燃气 both have one
    with pytest.raises(QuizInputError, match="no encoded item"):
        generate_quiz(engine, {"standard": "huagong-2017", "regime": ["粉尘涉爆"], "n": 3})


# ------------------------------------------------------------------------------------------ grading

def test_grading_right_wrong_and_unanswered(dust_quiz):
    full = grade(dust_quiz, right_answers(dust_quiz))
    assert (full.score, full.total, full.percent) == (20, 20, 100.0)
    assert all(r.status == "right" and "依据" in r.explanation for r in full.results)
    answers = {q.id: typed(q) for q in dust_quiz.questions}  # the forms people type
    assert grade(dust_quiz, answers).score == 20
    first_tf = next(q for q in dust_quiz.questions if q.kind == "判断题")
    first_single = next(q for q in dust_quiz.questions if q.kind == "单选题")
    answers[first_tf.id] = not first_tf.answer
    answers[first_single.id] = None
    g = grade(dust_quiz, answers)
    status = {r.id: r.status for r in g.results}
    assert g.score == 18 and status[first_tf.id] == "wrong" and status[first_single.id] == "unanswered"
    multi = next(q for q in dust_quiz.questions if q.kind == "多选题")
    for form in ("".join(multi.answer).lower(), ",".join(multi.answer), list(multi.answer)):
        assert grade(dust_quiz, {**right_answers(dust_quiz), multi.id: form}).score == 20


def test_grading_refuses_missing_extra_and_malformed_answers(dust_quiz):
    answers = right_answers(dust_quiz)
    tf = next(q for q in dust_quiz.questions if q.kind == "判断题")
    single = next(q for q in dust_quiz.questions if q.kind == "单选题")
    multi = next(q for q in dust_quiz.questions if q.kind == "多选题")
    bad = dict(answers)
    del bad["q20"]
    bad.update({"q21": "A", tf.id: "maybe", single.id: "E", multi.id: "AZ"})
    with pytest.raises(QuizInputError) as exc:
        grade(dust_quiz, bad)
    problems = {".".join(map(str, p.loc)): p for p in exc.value.problems}
    assert set(problems) == {"answers.q20", "answers.q21", f"answers.{tf.id}", f"answers.{single.id}", f"answers.{multi.id}"}
    assert problems["answers.q20"].msg == "missing answer" and "null" in problems["answers.q20"].expected
    assert "has no question 'q21'" in problems["answers.q21"].msg
    assert "true or false" in problems[f"answers.{tf.id}"].msg
    assert "not one of the options" in problems[f"answers.{single.id}"].msg
    assert "'Z'" in problems[f"answers.{multi.id}"].msg
    with pytest.raises(QuizInputError, match="expected an object"):
        grade(dust_quiz, ["A"])


def test_grading_numbers(engine):
    quiz = generate_quiz(engine, {"standard": "gongmao-2023", "article": "第十二条", "kinds": ["数值题"], "n": 1, "seed": 1})
    (q,) = quiz.questions
    for ok in (9, 9.0, "9", "9人", " 9 人"):
        assert grade(quiz, {q.id: ok}).score == 1
    assert grade(quiz, {q.id: 10}).score == 0
    for bad in ("nine", True, "9 kPa", [9]):
        with pytest.raises(QuizInputError):
            grade(quiz, {q.id: bad})


# ------------------------------------------------------------------------------------------ API

@pytest.fixture(scope="module")
def client(engine):
    app = create_app(engine)
    try:
        app.url_path_for("create_quiz")
    except NoMatchFound:  # the router is not wired into the app yet
        app.include_router(quiz_routes.router)
    with TestClient(app) as c:
        yield c


def test_api_issues_without_answers_and_grades_with_the_clause(client, dust_quiz):
    r = client.post("/v1/quizzes", json=DUST)
    assert r.status_code == 200
    body = r.json()
    assert body["seed"] == 7 and len(body["questions"]) == 20
    for q in body["questions"]:
        assert set(q) == {"id", "kind", "difficulty", "stem", "options", "unit", "answer_format"}
    assert [q["stem"] for q in body["questions"]] == [q.stem for q in dust_quiz.questions]  # regenerated by seed
    r = client.post(f"/v1/quizzes/{body['quiz_id']}/answers",
                    json={"answers": {q.id: typed(q) for q in dust_quiz.questions}})
    assert r.status_code == 200
    graded = r.json()
    assert graded["score"] == 20 and graded["percent"] == 100.0
    first = graded["results"][0]
    assert first["correct"] is True and first["citations"][0]["doc_number"] == "中华人民共和国应急管理部令第10号"
    assert first["citations"][0]["article"] == "第十一条"


def test_api_errors_are_problem_json_with_fields(client):
    r = client.post("/v1/quizzes", json={"standard": "gongmao-2033", "n": 3})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "standard"
    assert client.post("/v1/quizzes", json={"n": 0}).status_code == 422
    r = client.post("/v1/quizzes/nosuchquiz/answers", json={"answers": {}})
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert "seed" in r.json()["detail"]
    quiz_id = client.post("/v1/quizzes", json={**DUST, "n": 3}).json()["quiz_id"]
    r = client.post(f"/v1/quizzes/{quiz_id}/answers", json={"answers": {"q1": "perhaps", "q7": "A"}})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"answers.q1", "answers.q2", "answers.q3", "answers.q7"}
    assert client.post(f"/v1/quizzes/{quiz_id}/answers", json={"answer": {}}).status_code == 422


def test_quiz_store_is_bounded():
    store = quiz_routes.QuizStore(limit=2)
    quizzes = [Quiz(id=f"z{i}", seed=i, kb_version="v", params={"n": 1}, questions=[], counts={}) for i in range(3)]
    for q in quizzes:
        store.put(q)
    assert len(store) == 2 and store.get("z0") is None and store.get("z2") is not None


# ------------------------------------------------------------------------------------------ exports

def test_excel_export_reads_back(tmp_path, dust_quiz):
    path = tmp_path / "quiz.xlsx"
    to_xlsx(dust_quiz, path)
    wb = openpyxl.load_workbook(path)
    rows = list(wb["题库"].iter_rows(values_only=True))
    assert rows[0] == XLSX_COLUMNS
    assert len(rows) == 21
    for q, row in zip(dust_quiz.questions, rows[1:]):
        kind, stem, a, b, c, d, answer, explanation = row
        assert stem == q.stem and explanation == q.explanation
        if q.kind == "判断题":
            assert kind == "判断题" and (a, b) == ("正确", "错误") and answer == ("正确" if q.answer else "错误")
        elif q.kind == "单选题":
            assert kind == "单选题" and [a, b, c, d] == [o.text for o in q.options] and answer == q.answer
        elif q.kind == "多选题":
            assert kind == "多选题" and answer == "".join(q.answer)
    meta = dict(wb["说明"].iter_rows(values_only=True))
    assert meta["seed"] == 7 and meta["quiz_id"] == dust_quiz.id


def test_moodle_export_reads_back(tmp_path, engine, dust_quiz):
    quiz = dust_quiz.model_copy(update={"questions": dust_quiz.questions + generate_quiz(
        engine, {"standard": "gongmao-2023", "article": "第十二条", "kinds": ["数值题"], "n": 1, "seed": 1}).questions})
    path = tmp_path / "quiz.xml"
    to_moodle_xml(quiz, path)
    root = ET.parse(path).getroot()
    assert root.tag == "quiz"
    questions = [q for q in root.findall("question") if q.get("type") != "category"]
    assert len(questions) == 21
    types = {"判断题": "truefalse", "单选题": "multichoice", "多选题": "multichoice", "数值题": "numerical"}
    for q, el in zip(quiz.questions, questions):
        assert el.get("type") == types[q.kind]
        text = el.find("questiontext/text").text
        assert html.unescape(text.replace("<br/>", "\n")) == q.stem
        assert "依据" in el.find("generalfeedback/text").text
        answers = el.findall("answer")
        if q.kind == "判断题":
            right = [a.find("text").text for a in answers if a.get("fraction") == "100"]
            assert right == ["true" if q.answer else "false"]
        elif q.kind in ("单选题", "多选题"):
            assert el.find("single").text == ("true" if q.kind == "单选题" else "false")
            fractions = [float(a.get("fraction")) for a in answers]
            keyed = [q.answer] if q.kind == "单选题" else q.answer
            assert [o.key for o, f in zip(q.options, fractions) if f > 0] == keyed
            assert abs(sum(f for f in fractions if f > 0) - 100) < 0.01
        else:
            assert float(answers[0].find("text").text) == q.answer and answers[0].find("tolerance").text == "0"
            assert el.find("units/unit/unit_name").text == q.unit


# ------------------------------------------------------------------------------------------ CLI

@pytest.fixture()
def cli_engine(engine, monkeypatch):
    monkeypatch.setattr(cli_quiz, "_engine", lambda: engine)
    return engine


DUST_ARGS = ["--standard", "gongmao-2023", "--regime", "粉尘涉爆", "-n", "20", "--seed", "7"]


def test_cli_take_the_dust_quiz_in_the_terminal(cli_engine, dust_quiz):
    lines = [typed(q) for q in dust_quiz.questions]
    lines.insert(0, "也许")  # not an answer: asked again
    result = runner.invoke(quiz_app, ["take", *DUST_ARGS], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert "无法识别" in result.output
    assert "得分：20/20（100.0%）" in result.output
    assert "第十一条" in result.output and "中华人民共和国应急管理部令第10号" in result.output


def test_cli_generate_and_export(cli_engine, dust_quiz, tmp_path):
    result = runner.invoke(quiz_app, ["generate", *DUST_ARGS, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert [q["key"] for q in body["questions"]] == [q.key for q in dust_quiz.questions]
    printed = runner.invoke(quiz_app, ["generate", *DUST_ARGS])
    assert printed.exit_code == 0 and "q20." in printed.output and "答案" not in printed.output
    xlsx, xml = tmp_path / "dust.xlsx", tmp_path / "dust.xml"
    assert runner.invoke(quiz_app, ["export", *DUST_ARGS, "--format", "xlsx", "-o", str(xlsx)]).exit_code == 0
    assert runner.invoke(quiz_app, ["export", *DUST_ARGS, "--format", "moodle", "-o", str(xml)]).exit_code == 0
    rows = list(openpyxl.load_workbook(xlsx)["题库"].iter_rows(values_only=True))
    assert len(rows) == 21 and rows[1][1] == dust_quiz.questions[0].stem
    assert len([q for q in ET.parse(xml).getroot() if q.get("type") != "category"]) == 20
    bad = runner.invoke(quiz_app, ["export", *DUST_ARGS, "--format", "pdf", "-o", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "xlsx or moodle" in bad.output
    bad = runner.invoke(quiz_app, ["generate", "--regime", "粉尘"])
    assert bad.exit_code == 2 and "--regime" in bad.output and "粉尘涉爆" in bad.output
