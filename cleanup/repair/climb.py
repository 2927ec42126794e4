"""``cleanup repair``: diagnose, run the lightest rung that fixes what was found (a run of its own: the same Runner,
checkpoints and audit log), verify it (its playbook's last step, then the diagnosis again), and climb one rung when
the verification fails, up to the full reset, which is confirmed first (docs/repair.md).

A paused rung leaves the ladder standing on it: ``cleanup repair`` again (or ``cleanup resume RUN``, then ``cleanup
repair``) continues that rung's run instead of starting another. A rung that failed is never tried again for the Mac
until its ladder ends (verified, or no rung left).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cleanup.diagnose import diagnose_mac
from cleanup.diagnose.model import Check
from cleanup.engine.context import RunOptions
from cleanup.engine.loader import load_playbook, parse_playbook
from cleanup.engine.reporter import Reporter
from cleanup.engine.runner import DryRun, Runner, Selection
from cleanup.engine.state import UNFINISHED, RunState, RunStatus
from cleanup.engine.store import StateStore
from cleanup.errors import CleanupError, Paused, SafetyRefusal, StepFailed, UsageError
from cleanup.hosts import probes
from cleanup.hosts.base import Host
from cleanup.repair import ladder as L
from cleanup.repair.choice import Choice, choose, finding, model_of, problems, unverified
from cleanup.repair.rungs import BY_NAME, LADDER, Mac, Rung, fixes, index


@dataclass
class RepairOptions:
    only: str | None = None  # "device": no cloud at all (a Jamf policy: no API secret on the Mac)
    dry_run: bool = False
    yes: bool = False
    no_wait: bool = False
    wait_seconds: float | None = None
    autoresume: bool = True
    serial: str | None = None
    max_rung: str | None = None


@dataclass
class RepairResult:
    serial: str
    host: str
    #: verified | nothing (no finding a rung fixes) | planned (dry-run) | refused | failed
    status: str
    checks: list[Check]
    model: str
    choice: Choice | None = None
    ladder: L.Ladder | None = None
    plan: DryRun | None = None
    message: str = ""
    continues: str | None = None  # the dry-run: the run of the rung the ladder stands on

    def to_json(self) -> dict[str, Any]:
        found = problems(self.checks)
        return {
            "serial": self.serial,
            "host": self.host,
            "status": self.status,
            "message": self.message,
            "model": self.model,
            "problems": [c.id for c in found],
            "choice": self.choice.to_json() if self.choice else None,
            "continues_run": self.continues,
            "ladder": self.ladder.to_json() if self.ladder else None,
        }


def _say(text: str) -> None:
    return None


@dataclass
class Repair:
    store: StateStore
    host: Host
    options: RepairOptions
    cloud_opener: Callable[[], Any] | None = None
    escrow: Any = None
    reporter: Reporter = field(default_factory=Reporter)
    say: Callable[[str], None] = _say
    #: asks the operator before the full reset: True yes, False no, None nobody to ask
    ask: Callable[[str], bool | None] = lambda text: None
    #: what the person at the Mac is told in a rung's run (RunOptions.notify), for a new run (None) or a resumed one
    notify: Callable[[RunState | None], Any] | None = None
    serial: str = ""
    last: RepairResult | None = None  # what is known so far, for snapshot()

    # -- the inputs -----------------------------------------------------------------------------------

    @property
    def cloud(self) -> bool:
        return self.cloud_opener is not None and self.options.only != "device"

    def _settle_serial(self) -> None:
        if self.options.only not in (None, "device"):
            raise UsageError(f"--only takes device, not {self.options.only!r} (the rungs act on the Mac)")
        if self.options.max_rung is not None and self.options.max_rung not in BY_NAME:
            raise UsageError(f"--max-rung {self.options.max_rung!r}: no such rung", hint="rungs, lightest first: " + ", ".join(r.name for r in LADDER))
        if not self.host.device:
            raise UsageError(
                "cleanup repair works on a Mac: name it with --host (local, sim:DIR, ssh://user@mac)", hint="the cloud alone: `cleanup run --only cloud`"
            )
        probes.require_mac(self.host)
        self.serial = probes.serial_number(self.host)
        if self.options.serial and self.options.serial != self.serial:
            raise SafetyRefusal(f"--serial {self.options.serial} was given, but {self.host.spec} is Mac {self.serial}; refusing")

    def _diagnose(self) -> tuple[list[Check], Mac]:
        cloud = self.cloud_opener() if self.cloud and self.cloud_opener else None
        try:
            checks = diagnose_mac(self.serial, self.host, cloud).checks
        finally:
            if cloud is not None:
                cloud.close()
        mac = Mac(model_of(checks), probes.console_user_name(self.host))
        found = problems(checks)
        self.say(f"diagnosis of Mac {self.serial} ({'device and cloud' if self.cloud else 'device only'}): model {mac.model}, {len(found)} problem(s)")
        for c in found:
            self.say(f"  problem {finding(c)}")
        return checks, mac

    def _choose(self, checks: list[Check], mac: Mac, lad: L.Ladder | None) -> Choice:
        top = index(self.options.max_rung) if self.options.max_rung else None
        return choose(checks, mac, tried=lad.tried() if lad else set(), floor=lad.floor() if lad else 0, top=top, cloud=self.cloud)

    def _selection(self) -> Selection:
        return Selection(None if self.cloud else "device")

    def _options(self, state: RunState | None = None) -> RunOptions:
        o = self.options
        told = {"notify": self.notify(state)} if self.notify else {}
        if state is None:
            return RunOptions(
                yes=o.yes, no_wait=o.no_wait, wait_seconds=o.wait_seconds, autoresume=o.autoresume, serial=self.serial, escrow=self.escrow, **told
            )
        return RunOptions(
            **told,
            yes=o.yes or bool(state.options.get("yes")),
            no_wait=o.no_wait,
            wait_seconds=o.wait_seconds if o.wait_seconds is not None else state.options.get("wait_seconds"),
            autoresume=o.autoresume and bool(state.options.get("autoresume", True)),
            serial=state.serial,
            choices=dict(state.options.get("choices") or {}),
            escrow=self.escrow,
        )

    def _runner(self, playbook, options: RunOptions) -> Runner:
        return Runner(self.store, self.host, playbook, options, self.reporter, cloud_opener=self.cloud_opener if self.cloud else None)

    # -- the dry-run ----------------------------------------------------------------------------------

    def plan(self) -> RepairResult:
        """The diagnosis, the rung the ladder would run and why, and that rung's plan; nothing is changed or written."""
        self._settle_serial()
        lad = L.load(self.store, self.serial)
        lad = None if lad is None or lad.ended else lad
        checks, mac = self._diagnose()
        self.last = RepairResult(self.serial, self.host.spec, "planned", checks, mac.model, None, lad)
        current = lad.current() if lad else None
        if current is not None:
            rung = BY_NAME[current.rung]
            targets = [c for c in problems(checks) if fixes(rung, c, mac)]
            choice = Choice(rung, targets, [r for r in LADDER[index(rung.name) + 1 :] if r.applies(mac)])
        else:
            choice = self._choose(checks, mac, lad)
        result = RepairResult(self.serial, self.host.spec, "planned", checks, mac.model, choice, lad, continues=current.run_id if current else None)
        self.last = result
        if choice.rung is None:
            return self._no_rung(result, lad, write=False)
        self._tell(choice, current)
        result.message = (
            f"dry-run: rung {choice.rung.name} would run" + (f" (continuing its run {current.run_id})" if current else "") + "; nothing was changed"
        )
        options = RunOptions(dry_run=True, serial=self.serial, escrow=self.escrow)
        runner = Runner(None, self.host, load_playbook(choice.rung.playbook), options, cloud_opener=self.cloud_opener if self.cloud else None)
        result.plan = runner.plan(self._selection())
        return result

    # -- the ladder -----------------------------------------------------------------------------------

    def run(self) -> RepairResult:
        self._settle_serial()
        with L.locked(self.store, self.serial):
            lad = L.load(self.store, self.serial)
            if lad is None or lad.ended:
                lad = L.fresh(self.serial, self.host.spec, lad)
            checks: list[Check] | None = None
            mac = Mac("unknown")
            for _ in range(2 * len(LADDER) + 2):  # each rung runs once per ladder; a continued one is judged once
                att = lad.current()
                if att is None:
                    if checks is None:
                        checks, mac = self._diagnose()
                    choice = self._choose(checks, mac, lad)
                    self.last = RepairResult(self.serial, self.host.spec, "running", checks, mac.model, choice, lad)
                    if choice.rung is None:
                        return self._no_rung(RepairResult(self.serial, self.host.spec, "verified", checks, mac.model, choice, lad), lad, write=True)
                    self._tell(choice, None)
                    att = self._begin(lad, choice)
                    done: bool | None = self._drive(lad, att, choice.rung, None)
                else:
                    done = self._continue(lad, att)
                if done is None:
                    continue  # an attempt that never began: choose again
                checks = None
                if done:
                    checks, mac = self._diagnose()
                    self._judge(lad, att, checks, mac)
            raise CleanupError(f"the repair ladder of Mac {self.serial} did not settle; nothing more was run")  # pragma: no cover - bounded above

    def _tell(self, choice: Choice, continuing: L.Attempt | None) -> None:
        rung = choice.rung
        assert rung is not None
        if continuing is not None:
            self.say(f"rung {rung.name}: continuing its run {continuing.run_id} ({continuing.status}): {rung.does}")
        else:
            self.say(f"rung {rung.name}: {rung.does}")
        for c in choice.targets:
            self.say(f"  because {finding(c)}")
        if choice.above:
            self.say("  if it does not verify: " + ", then ".join(r.name for r in choice.above))
        for c in choice.unfixable:
            self.say(f"  no rung fixes {c.id}: {c.remedy or c.finding}")

    def _begin(self, lad: L.Ladder, choice: Choice) -> L.Attempt:
        rung = choice.rung
        assert rung is not None
        att = L.Attempt(rung.name, L.RUNNING, why=[finding(c) for c in choice.targets], started=time.time())
        if rung.asks and not self.options.yes:
            lighter = [a.rung for a in lad.attempts if a.status == L.FAILED]
            lead = f"the lighter rungs ({', '.join(lighter)}) did not fix Mac {self.serial}" if lighter else f"Mac {self.serial} needs the full reset"
            answer = self.ask(
                f"{lead[0].upper()}{lead[1:]} ({self.host.spec}): run the full Cause 6 reset (its Jamf Pro record, Entra device and Intune "
                "records deleted, the Mac re-enrolled and registered anew)?"
            )
            if not answer:
                att.status, att.ended = L.REFUSED, time.time()
                att.outcome = "not confirmed" if answer is False else "needs confirmation: nobody answered at a terminal"
                lad.attempts.append(att)
                lad.status = L.REFUSED
                L.save(self.store, lad)
                raise SafetyRefusal(
                    f"the full Cause 6 reset of Mac {self.serial} was not confirmed{'' if answer is False else ': nobody answered at a terminal'}; "
                    "nothing was changed by it",
                    hint="`cleanup repair` at a terminal asks again; add --yes to run it without asking",
                )
        lad.attempts.append(att)
        lad.status = L.RUNNING
        L.save(self.store, lad)
        return att

    def _continue(self, lad: L.Ladder, att: L.Attempt) -> bool | None:
        """The run of the attempt the ladder stands on: resumed when unfinished; True once done, False when it failed
        (climb), None when it never began."""
        rung = BY_NAME[att.rung]
        if att.run_id is None:
            # cut short before the ladder learnt its run's id: adopt the run of this rung begun since, if there is one
            att.run_id = self._run_since(load_playbook(rung.playbook).name, att.started)
            if att.run_id is None:
                att.status, att.outcome, att.ended = L.REFUSED, "never began (interrupted before its run started)", time.time()
                L.save(self.store, lad)
                return None
        state, text = self.store.load(att.run_id)
        if state.status == RunStatus.DONE:
            self.say(f"rung {rung.name}: its run {att.run_id} is done")
            return True
        if state.status == RunStatus.ABANDONED:
            self._failed(lad, att, f"its run {att.run_id} was abandoned")
            return False
        self._tell(Choice(rung), att)
        return self._drive(lad, att, rung, (state, text))

    def _run_since(self, playbook: str, since: float) -> str | None:
        """The last run of this Mac with ``playbook`` created at or after ``since`` (its start), if any."""
        found = None
        for rid in self.store.run_ids():
            if rid.startswith(self.serial + "-"):
                try:
                    state, _ = self.store.load(rid)
                except CleanupError:
                    continue
                if state.playbook == playbook and state.created >= since - 1:
                    found = rid
        return found

    def _drive(self, lad: L.Ladder, att: L.Attempt, rung: Rung, resumed: tuple[RunState, str] | None) -> bool:
        """Start (or resume) the rung's run; True when it is done, False when it failed and the ladder climbs."""
        if resumed is None:
            runner = self._runner(load_playbook(rung.playbook), self._options())
        else:
            state, text = resumed
            runner = self._runner(parse_playbook(text, source=f"run {state.run_id}"), self._options(state))
        try:
            if resumed is None:
                runner.start(self._selection())
            else:
                runner.resume(resumed[0].run_id)
        except Paused as exc:
            att.run_id = att.run_id or runner.run_id
            att.status, att.outcome, lad.status = L.PAUSED, exc.message, L.PAUSED
            L.save(self.store, lad)
            raise Paused(
                f"rung {rung.name} (run {att.run_id}): {exc.message} — `cleanup repair` continues this rung's run and verifies it",
                pause=exc.pause,
            ) from None
        except StepFailed as exc:
            att.run_id = att.run_id or runner.run_id
            if rung is LADDER[-1]:  # the last rung: nothing to climb to; its run stays resumable
                att.status, att.outcome, lad.status = L.STOPPED, exc.message, L.STOPPED
                L.save(self.store, lad)
                raise
            self._failed(lad, att, exc.message)
            return False
        except CleanupError as exc:
            att.run_id = att.run_id or runner.run_id
            att.status = L.STOPPED if att.run_id else L.REFUSED
            att.outcome, lad.status = exc.message, L.REFUSED if exc.exit_code == 4 else L.STOPPED
            if att.status == L.REFUSED:
                att.ended = time.time()
            L.save(self.store, lad)
            raise
        att.run_id = att.run_id or runner.run_id
        L.save(self.store, lad)
        return True

    def _failed(self, lad: L.Ladder, att: L.Attempt, why: str) -> None:
        """The rung did not fix it: its run is given up (recorded in its audit log) so that the next rung may start."""
        if att.run_id:
            state, _ = self.store.load(att.run_id)
            if state.status in UNFINISHED:
                self.store.abandon(att.run_id, by=f"cleanup repair: rung {att.rung} failed ({why[:200]}); the ladder climbs")
        att.status, att.outcome, att.ended = L.FAILED, why, time.time()
        L.save(self.store, lad)
        self.say(f"rung {att.rung} failed: {why}")

    def _judge(self, lad: L.Ladder, att: L.Attempt, checks: list[Check], mac: Mac) -> None:
        """Verified when the diagnosis no longer shows what the rung fixes (nor what it must not leave)."""
        rung = BY_NAME[att.rung]
        still = unverified(rung, checks, mac)
        if still:
            self._failed(lad, att, "not verified: the diagnosis still finds " + "; ".join(finding(c) for c in still))
            return
        att.status, att.ended = L.VERIFIED, time.time()
        att.outcome = "verified: the diagnosis no longer finds " + (", ".join(w.split(":", 1)[0] for w in att.why) or "a problem it fixes")
        L.save(self.store, lad)
        self.say(f"rung {rung.name}: verified")

    def _no_rung(self, result: RepairResult, lad: L.Ladder | None, *, write: bool) -> RepairResult:
        """No rung to run: the ladder ends verified (or there was nothing to do), refused, or failed."""
        choice = result.choice
        assert choice is not None
        self.last = result
        if choice.stuck is None:
            if not (lad and lad.tried()):
                if choice.unfixable:
                    names = ", ".join(c.id for c in choice.unfixable)
                    raise SafetyRefusal(
                        f"no rung fixes what the diagnosis of Mac {self.serial} found ({names}): a reset would not help; nothing was changed",
                        hint="; ".join(f"{c.id}: {c.remedy}" for c in choice.unfixable if c.remedy) or None,
                    )
                result.status, result.message = "nothing", "nothing to repair: the diagnosis finds no problem a rung fixes"
                if write and lad is not None and lad.attempts:  # only refused attempts: the ladder ends, nothing is left to do
                    lad.status = L.VERIFIED
                    L.save(self.store, lad)
                return result
            for c in choice.unfixable:
                self.say(f"  left to a person (no rung fixes it): {finding(c)}" + (f" — {c.remedy}" if c.remedy else ""))
            left = f" ({len(choice.unfixable)} finding(s) left to a person, above)" if choice.unfixable else ""
            result.status, result.message = "verified", f"verified: the diagnosis finds no problem a rung fixes any more{left}"
            if write:
                lad.status = L.VERIFIED
                L.save(self.store, lad)
            return result
        result.status = "refused" if choice.over_max else "failed"
        result.message = choice.stuck or ""
        if lad is not None and write:
            lad.status = L.REFUSED if choice.over_max else L.FAILED
            L.save(self.store, lad)
        error = SafetyRefusal if choice.over_max else CleanupError
        raise error(f"Mac {self.serial}: {choice.stuck}; nothing more was run", hint="`cleanup status` lists the rungs' runs")

    def snapshot(self) -> dict[str, Any] | None:
        """What the JSON envelope of a repair that stopped (paused, refused, failed) carries: the last diagnosis and
        choice, and the ladder as it is on disk."""
        last = self.last
        if last is None:
            return None
        if self.serial and not self.options.dry_run:
            try:
                last.ladder = L.load(self.store, self.serial) or last.ladder
            except CleanupError:
                pass  # the failure itself is what the envelope reports
        return last.to_json()
