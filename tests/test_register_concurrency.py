"""Concurrent writers and killed writers, on SQLite and PostgreSQL: no event is ever lost, no change takes effect
twice, and a process killed with SIGKILL in the middle of a write leaves no half-written entry behind."""

import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from hazard_kb.register import Conflict, Register
from test_register_common import CODE_A, db_url, world  # noqa: F401

PLAN = {"measures": "m", "responsible": "r", "funds": 1, "deadline": "2099-01-01", "contingency": "c"}


def _run_threads(n: int, target) -> list[BaseException | object]:
    """Run target(i) in n threads released together; the result or exception of each."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = target(i)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def test_concurrent_updates_to_one_entry_never_lose_an_event(world):
    reg, a = world.reg, world.actors
    e = reg.register_entry(a["insp"], source="监督检查", enterprise=CODE_A, description="many hands")
    reg.set_plan(a["boss"], e.id, PLAN)
    writers, per = 8, 12
    who = ["insp", "insp2", "expert", "boss", "admin", "both", "insp", "boss"]
    # each thread its own Register: its own engine, pool, connections and sessions, like separate processes
    regs = [Register(reg.url, migrate=False) for _ in range(writers)]
    try:
        def write(i):
            for k in range(per):
                if i == 0 and k % 4 == 3:  # plan revisions interleaved with the notes
                    regs[i].set_plan(a["insp"], e.id, {**PLAN, "funds": k}, reason=f"revision {k}")
                else:
                    regs[i].progress(a[who[i]], e.id, f"{i}-{k}")
            return True

        started = time.perf_counter()
        results = _run_threads(writers, write)
        elapsed = time.perf_counter() - started
    finally:
        for r in regs:
            r.close()
    assert results == [True] * writers, results
    events = reg.events(a["auditor"], e.id)
    assert [v.seq for v in events] == list(range(1, len(events) + 1))
    notes = sorted(v.data["note"] for v in events if v.kind == "progress")
    assert notes == sorted(f"{i}-{k}" for i in range(writers) for k in range(per) if not (i == 0 and k % 4 == 3))
    assert [v.kind for v in events].count("plan_revised") == 3
    state = reg.entry(a["auditor"], e.id)
    assert state.version == len(events) == 2 + writers * per and state.progress_notes == writers * per - 3
    assert reg.verify()["ok"], reg.verify()
    print(f"\n{reg.dialect}: {writers * per} concurrent appends to one entry in {elapsed:.2f} s")


def test_racing_transitions_take_effect_once(world):
    reg, a = world.reg, world.actors
    regs = [Register(reg.url, migrate=False) for _ in range(4)]
    try:
        # two inspectors confirm at once: one confirmation per role
        e = reg.register_entry(a["insp"], source="监督检查", enterprise=CODE_A, description="race")
        reg.set_plan(a["insp"], e.id, PLAN)
        reg.request_closeout(a["boss"], e.id, "done")
        results = _run_threads(2, lambda i: regs[i].confirm(a[("insp", "insp2")[i]], e.id))
        assert sorted(type(r).__name__ for r in results) == ["Conflict", "EntryView"]
        reg.confirm(a["expert"], e.id)
        # four close-outs at once after the principal's confirmation: exactly one closes
        reg.confirm(a["boss"], e.id)
        results = _run_threads(4, lambda i: regs[i].close_out(a[("insp", "insp2", "admin", "both")[i]], e.id))
        assert sum(not isinstance(r, BaseException) for r in results) == 1
        assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException)), results
        kinds = [v.kind for v in reg.events(a["auditor"], e.id)]
        assert kinds.count("closed") == 1 and kinds.count("confirmed") == 3
        # a plan set twice at once on a new entry: one plan_set, the other a revision without reason -> refused
        e2 = reg.register_entry(a["insp"], source="监督检查", enterprise=CODE_A, description="race 2")
        results = _run_threads(2, lambda i: regs[i].set_plan(a["insp"], e2.id, {**PLAN, "funds": i}))
        assert sorted(type(r).__name__ for r in results) == ["EntryView", "Invalid"]
        assert [v.kind for v in reg.events(a["auditor"], e2.id)] == ["registered", "plan_set"]
    finally:
        for r in regs:
            r.close()
    assert reg.verify()["ok"]


WRITER = r"""
import sys, time
from hazard_kb.register import Actor, Register

url, user_id, code, pause_at = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
reg = Register(url, migrate=False)
actor = Actor(user_id, "insp", frozenset({"inspector"}))
writes = 0

def hook(label):
    # called inside each write transaction, after the event and the projection are written, before COMMIT
    global writes
    writes += 1
    if writes == pause_at:
        print("PAUSED", label, flush=True)
        time.sleep(600)

reg.before_commit = hook
print("READY", flush=True)
while True:
    e = reg.register_entry(actor, source="监督检查", enterprise=code, description="crash probe")
    print("ACK", e.id, e.version, flush=True)
    for k in range(3):
        e = reg.progress(actor, e.id, f"note {k}")
        print("ACK", e.id, e.version, flush=True)
"""


def _writer(url: str, user_id: int, pause_at: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, url, str(user_id), CODE_A, str(pause_at)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)


def _read_until(proc: subprocess.Popen, stop, acks: list, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"writer ended: {proc.stderr.read()[-2000:]}")
        if line.startswith("ACK"):
            _, entry_id, seq = line.split()
            acks.append((int(entry_id), int(seq)))
        if stop(line, acks):
            return line
    raise AssertionError("writer too slow")


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    proc.stdout.close()
    proc.stderr.close()


def _check_consistent(reg: Register, auditor, acks: list) -> None:
    report = reg.verify()  # every projection equals the replay of its events; no events without an entry
    assert report["ok"], report["problems"]
    stored = {(v.entry_id, v.seq) for entry_id in {e for e, _ in acks} for v in reg.events(auditor, entry_id)}
    missing = [a for a in acks if a not in stored]
    assert not missing, f"acknowledged events lost: {missing}"
    if reg.dialect == "sqlite":
        with reg.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_a_writer_killed_mid_transaction_leaves_no_half_written_entry(world):
    reg, a = world.reg, world.actors
    acks: list = []
    # writes go: create, 3 × progress, create, …; the 9th write is the third entry's creation
    proc = _writer(reg.url, a["insp"].user_id, pause_at=9)
    try:
        line = _read_until(proc, lambda line, _: line.startswith("PAUSED"), acks)
    finally:
        _kill(proc)
    assert line.split()[1] == "entries.register"
    assert acks == [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2), (2, 3), (2, 4)]
    _check_consistent(reg, a["auditor"], acks)
    page = reg.entries(a["auditor"], limit=None)
    assert [e.id for e in page.items] == [1, 2] and all(e.version == 4 for e in page.items)
    # the lock the dead writer held is gone: the next write goes through at once
    started = time.perf_counter()
    e = reg.register_entry(a["insp"], source="监督检查", enterprise=CODE_A, description="after the crash")
    assert time.perf_counter() - started < 5 and e.version == 1
    assert reg.verify()["ok"]


def test_writers_killed_at_random_moments_lose_no_acknowledged_event(world):
    reg, a = world.reg, world.actors
    rnd = random.Random(int(os.environ.get("HAZARD_KB_TEST_SEED", "7")))
    acks: list = []
    for _ in range(3):
        proc = _writer(reg.url, a["insp"].user_id, pause_at=0)
        try:
            target = len(acks) + rnd.randint(5, 25)
            _read_until(proc, lambda line, got: len(got) >= target, acks)
            time.sleep(rnd.uniform(0, 0.03))  # somewhere inside or between transactions
        finally:
            _kill(proc)
        _check_consistent(reg, a["auditor"], acks)
    assert len(acks) >= 15
    # every entry has a registration and a contiguous history; the register goes on working
    reg.progress(a["insp"], acks[-1][0], "after the crashes")
    assert reg.verify()["ok"]


def test_concurrent_start_ups_migrate_once(db_url):  # noqa: F811 - the parametrized fixture
    """Several servers (or `hazard-kb serve --workers N`) starting at once on an empty database."""
    code = ("import sys; from hazard_kb.register import Register; from hazard_kb.register.db import current_revision; "
            "print(current_revision(Register(sys.argv[1]).engine))")
    procs = [subprocess.Popen([sys.executable, "-c", code, db_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err[-500:] for _, err in outs]
    from hazard_kb.register.db import head_revision
    assert {out.strip() for out, _ in outs} == {head_revision()}
