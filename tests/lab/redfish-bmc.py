#!/usr/bin/env python3
"""redfish-bmc: an emulated Redfish BMC for one lab machine (Python
standard library only).

It exists so castiron's Redfish driver is tested against a BMC that
behaves like real ones — links followed from the service root, sessions,
ETags, AllowableValues, power changes that take time — and that drives a
real (QEMU) machine, so a test can see on the machine itself that a power
or boot request arrived.  Vendor quirks are selected per emulator with
--profile.  docs/lab.md is the full description; this header is the
reference for the command line and is kept in step with it.

    redfish-bmc.py --listen ADDR[:PORT] [--listen ...] --cert FILE --key FILE
                   --credentials FILE --serial SERIAL [options]

  --listen ADDR[:PORT]  HTTPS listening address (repeatable; port 443 when
                        omitted; [v6addr]:port for IPv6)
  --cert FILE --key FILE  the server certificate (PEM) and its key
  --credentials FILE    accounts, one "USER:PASSWORD" per line (split at
                        the first colon); never on the command line
  --serial S            SerialNumber; the System's Id is S in lower case
                        (/redfish/v1/Systems/<s>: not /Systems/1)
  --manufacturer M      Manufacturer (default "Castiron Lab")
  --model M             Model (default "QEMU q35 TCG")
  --mac MAC             a network interface's MAC (repeatable; one
                        EthernetInterfaces member each, in order)
  --qemu-args FILE      the machine's QEMU command line, one argument per
                        line, without -boot (the emulator adds it); QEMU
                        runs as the emulator's child.  Without it the
                        machine is simulated: power and boot change state
                        only (for benchmarks of many BMCs).
  --qmp PATH            QEMU's QMP socket for the BMC (the args open it)
  --qemu-pidfile PATH   QEMU's -pidfile, if the args give one (read to
                        find a QEMU left running by a previous emulator)
  --qemu-log FILE       QEMU's stdout and stderr (default /dev/null)
  --power on|off        power state at start (default off; on starts QEMU)
  --profile NAME[,NAME] vendor quirks (repeatable): weak-etag,
                        require-if-match, no-if-match-on-post, settings,
                        session-limit-2, delayed-power, reset-409,
                        no-basic, no-sessions
  --session-limit N     open sessions allowed (default 8; session-limit-2
                        makes it 2); one more answers 503
  --session-timeout S   idle seconds before a session expires (1800)
  --power-delay S       seconds PowerState lags under delayed-power (2.5)
  --reset-types LIST    the ResetType@Redfish.AllowableValues offered
                        (comma list; default On,ForceOff,GracefulShutdown,
                        ForceRestart,PowerCycle,PushPowerButton,Nmi)
  --state FILE          the inspection state (as GET /lab/state), written
                        after every request
  --pidfile FILE        written once every listener is bound

Inspection and control for tests, without authentication and never
counted as requests: GET /lab/state, POST /lab/reset-counters, POST
/lab/inject {"status": N | "drop": true | "body": TEXT | "delay": S,
"method": M, "path": P (exact, or a prefix ending in *), "count": N}.

Power and boot drive QEMU: On starts it (with -boot once=n for a one-time
Pxe override, which is then cleared; order=n while a Continuous one is
set; order=c otherwise); ForceOff sends QMP quit; GracefulShutdown sends
system_powerdown (PowerState becomes Off when QEMU exits);
ForceRestart sends system_reset after boot_set (for a one-time Pxe
override it restarts QEMU with -boot once=n: QEMU can make a boot order
one-time only at start); PowerCycle stops and starts QEMU; Nmi sends
inject-nmi; PushPowerButton is On when off and system_powerdown when on.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROFILES = ("weak-etag", "require-if-match", "no-if-match-on-post",
            "settings", "session-limit-2", "delayed-power", "reset-409",
            "no-basic", "no-sessions")
DEFAULT_RESETS = ("On", "ForceOff", "GracefulShutdown", "ForceRestart",
                  "PowerCycle", "PushPowerButton", "Nmi")
ALL_RESETS = DEFAULT_RESETS + ("GracefulRestart", "ForceOn")
BOOT_TARGETS = ("None", "Pxe", "Hdd", "Cd", "BiosSetup")
BOOT_ENABLED = ("Disabled", "Once", "Continuous")
BOOT_MODES = ("Legacy", "UEFI")
QEMU_ORDER = {"Pxe": "n", "Hdd": "c", "Cd": "d"}	# anything else: c
LOG_KEEP = 1000
MAX_BODY = 65536

ROOT = "/redfish/v1"
SYSTEMS = ROOT + "/Systems"
SESSIONS = ROOT + "/SessionService/Sessions"
MANAGERS = ROOT + "/Managers"


class HTTPError(Exception):
    """A Redfish error reply: status, MessageId, message."""

    def __init__(self, status, msgid, message, headers=None):
        super().__init__(message)
        self.status = status
        self.msgid = msgid
        self.message = message
        self.headers = headers or {}


def rf_error(msgid, message):
    return {"error": {"code": "Base.1.8." + msgid, "message": message,
                      "@Message.ExtendedInfo": [{
                          "@odata.type": "#Message.v1_1_1.Message",
                          "MessageId": "Base.1.8." + msgid,
                          "Message": message, "Severity": "Warning",
                          "Resolution": "See the message."}]}}


class QMPError(Exception):
    pass


def qmp(path, command, arguments=None, timeout=5.0):
    """One QMP command over a fresh connection; returns its "return".
    Retries the connection until the socket exists (QEMU starting)."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path)
            break
        except OSError as e:
            s.close()
            if time.monotonic() >= deadline:
                raise QMPError("connect %s: %s" % (path, e))
            time.sleep(0.05)
    try:
        f = s.makefile("rw", encoding="utf-8", newline="\n")

        def call(cmd, args=None):
            msg = {"execute": cmd}
            if args is not None:
                msg["arguments"] = args
            f.write(json.dumps(msg) + "\n")
            f.flush()
            while True:
                line = f.readline()
                if not line:
                    raise QMPError("%s: connection closed" % cmd)
                reply = json.loads(line)
                if "return" in reply:
                    return reply["return"]
                if "error" in reply:
                    raise QMPError("%s: %s" % (cmd, reply["error"]))
                # events ("event") are skipped

        if not f.readline():	# the greeting
            raise QMPError("no greeting")
        call("qmp_capabilities")
        return call(command, arguments)
    except (OSError, ValueError) as e:
        raise QMPError("%s: %s" % (command, e))
    finally:
        s.close()


class Machine:
    """The server behind the BMC: power, boot override, QEMU."""

    def __init__(self, opts, bmc):
        self.o = opts
        self.bmc = bmc
        self.power = "Off"
        self.prev_power = "Off"
        self.changed_at = -1e9
        self.arm409 = True
        self.proc = None
        self.qemu_pid = None
        self.restore_pending = False	# started with -boot once=, not reset since
        self.boot = {"BootSourceOverrideTarget": "None",
                     "BootSourceOverrideEnabled": "Disabled",
                     "BootSourceOverrideMode": "Legacy"}
        self.pending = None		# settings profile: Boot applied at reset
        self.boots = []			# every boot the BMC started
        self.exits = []			# every QEMU exit seen
        self.resets = []		# every ResetType accepted
        self.last_boot_patch = None
        self.adopt()

    # -- power state --------------------------------------------------

    def set_power(self, new):
        if new != self.power:
            self.prev_power = self.power
            self.power = new
            self.changed_at = time.monotonic()
            self.arm409 = True

    def reported_power(self):
        if ("delayed-power" in self.o.profiles and
                time.monotonic() < self.changed_at + self.o.power_delay):
            return self.prev_power
        return self.power

    # -- QEMU ---------------------------------------------------------

    def adopt(self):
        """A QEMU left running by a previous emulator (its pidfile)."""
        if not self.o.qemu_pidfile:
            return
        try:
            pid = int(open(self.o.qemu_pidfile).read().split()[0])
            cmd = open("/proc/%d/cmdline" % pid, "rb").read()
        except (OSError, ValueError, IndexError):
            return
        if b"qemu-system" in cmd:
            self.qemu_pid = pid
            self.power = self.prev_power = "On"
            threading.Thread(target=self.watch_pid, args=(pid,),
                             daemon=True).start()

    def watch_pid(self, pid):
        while os.path.exists("/proc/%d" % pid):
            time.sleep(0.1)
        with self.bmc.lock:
            if self.qemu_pid == pid:
                self.qemu_exited(None)

    def qemu_running(self):
        return self.qemu_pid is not None

    def boot_device(self):
        """The device this boot uses; a Once override is consumed."""
        if "settings" in self.o.profiles and self.pending is not None:
            self.boot.update(self.pending)
            self.pending = None
        t = self.boot["BootSourceOverrideTarget"]
        e = self.boot["BootSourceOverrideEnabled"]
        if e == "Disabled" or t == "None":
            return "c", False
        if e == "Once":
            self.boot["BootSourceOverrideEnabled"] = "Disabled"
            self.boot["BootSourceOverrideTarget"] = "None"
        return QEMU_ORDER.get(t, "c"), e == "Once"

    def record_boot(self, how, dev, once):
        self.boots.append({"t": round(self.bmc.uptime(), 3), "how": how,
                           "device": {"n": "pxe", "c": "disk",
                                      "d": "cd"}[dev], "once": once})

    def start(self, how, boot=None):
        """Powers on; boot: (device, once) already taken by the caller."""
        dev, once = boot or self.boot_device()
        self.record_boot(how, dev, once)
        if self.o.qemu_args is None:
            self.set_power("On")
            return
        args = [a for a in open(self.o.qemu_args).read().split("\n") if a]
        boot = "order=c,once=%s" % dev if once else "order=%s" % dev
        log = open(self.o.qemu_log or os.devnull, "ab")
        try:
            proc = subprocess.Popen(args + ["-boot", boot], stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=log,
                                    start_new_session=True)
        except OSError as e:
            raise HTTPError(500, "InternalError", "cannot start the machine: %s" % e)
        finally:
            log.close()
        self.proc = proc
        self.qemu_pid = proc.pid
        self.restore_pending = once
        self.set_power("On")
        threading.Thread(target=self.reap, args=(proc,), daemon=True).start()

    def reap(self, proc):
        rc = proc.wait()
        with self.bmc.lock:
            if self.proc is proc:
                self.qemu_exited(rc)

    def qemu_exited(self, rc):
        self.exits.append({"t": round(self.bmc.uptime(), 3), "status": rc})
        self.proc = None
        self.qemu_pid = None
        self.set_power("Off")
        self.bmc.save()

    def stop(self):
        """QMP quit, then SIGKILL if QEMU is still there after 10 s."""
        if self.o.qemu_args is None:
            self.set_power("Off")
            return
        pid, proc = self.qemu_pid, self.proc
        if pid is None:
            return
        self.proc = None	# the reaper must not count this as a power event
        self.qemu_pid = None
        try:
            qmp(self.o.qmp, "quit")
        except QMPError:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if proc is not None:
                if proc.poll() is not None:
                    break
            elif not os.path.exists("/proc/%d" % pid):
                break
            time.sleep(0.02)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            if proc is not None:
                proc.wait()
        self.exits.append({"t": round(self.bmc.uptime(), 3),
                           "status": proc.returncode if proc else None})
        self.set_power("Off")

    def command(self, cmd, args=None):
        if self.o.qemu_args is None:
            return None
        try:
            return qmp(self.o.qmp, cmd, args)
        except QMPError as e:
            raise HTTPError(500, "InternalError", "machine: %s" % e)

    def restart(self):
        if self.o.qemu_args is None:
            self.record_boot("reset", *self.boot_device())
            return
        dev, once = self.boot_device()
        if once or (self.restore_pending and dev != "c"):
            # QEMU has no one-time boot order but its -boot once=; and a
            # pending once= restore would undo a boot_set at this reset.
            self.stop()
            self.start("restart", (dev, once))
            return
        self.command("human-monitor-command",
                     {"command-line": "boot_set %s" % dev})
        self.command("system_reset")
        self.restore_pending = False
        self.record_boot("reset", dev, once)

    def powerdown(self):
        """The ACPI power button: the guest decides (Off when QEMU exits);
        a simulated machine goes off at once."""
        if self.o.qemu_args is None:
            self.set_power("Off")
        else:
            self.command("system_powerdown")

    def reset(self, rtype):
        on = self.power == "On"
        if rtype == "On" and "reset-409" in self.o.profiles and self.arm409:
            self.arm409 = False
            self.bmc.count("conflicts")
            raise HTTPError(409, "ResourceInUse",
                            "A previous power change is still settling; "
                            "try again")
        if rtype in ("On", "ForceOn"):
            if not on:
                self.start("power-on")
        elif rtype == "ForceOff":
            if on:
                self.stop()
        elif rtype == "GracefulShutdown":
            if on:
                self.powerdown()
        elif rtype in ("ForceRestart", "GracefulRestart"):
            if not on:
                raise HTTPError(409, "ActionNotSupported",
                                "The system is powered off: %s needs it on"
                                % rtype)
            self.restart()
        elif rtype == "PowerCycle":
            if on:
                self.stop()
            self.start("power-cycle")
        elif rtype == "PushPowerButton":
            if on:
                self.powerdown()
            else:
                self.start("power-on")
        elif rtype == "Nmi":
            if not on:
                raise HTTPError(409, "ActionNotSupported",
                                "The system is powered off")
            self.command("inject-nmi")
        self.resets.append(rtype)


class BMC:
    """Accounts, sessions, counters and the Redfish resource tree."""

    def __init__(self, opts):
        self.o = opts
        self.lock = threading.RLock()
        self.t0 = time.monotonic()
        self.sid = opts.serial.lower()
        self.sys = SYSTEMS + "/" + self.sid
        self.mgr = MANAGERS + "/bmc-" + self.sid
        self.accounts = load_credentials(opts.credentials)
        self.sessions = {}	# id -> {"token", "user", "created", "used"}
        self.next_session = 1
        self.counters = {}
        self.requests = {}
        self.log = []
        self.injects = []
        self.machine = Machine(opts, self)

    def uptime(self):
        return time.monotonic() - self.t0

    def count(self, what, n=1):
        self.counters[what] = self.counters.get(what, 0) + n

    # -- sessions and authentication ----------------------------------

    def expire(self):
        now = time.monotonic()
        for sid in [k for k, v in self.sessions.items()
                    if now - v["used"] > self.o.session_timeout]:
            del self.sessions[sid]
            self.count("sessions_expired")

    def authenticate(self, headers):
        """'session', 'basic', or raises 401."""
        self.expire()
        token = headers.get("X-Auth-Token")
        if token:
            for s in self.sessions.values():
                if secrets.compare_digest(s["token"], token):
                    s["used"] = time.monotonic()
                    return "session"
            raise HTTPError(401, "NoValidSession",
                            "There is no valid session established with "
                            "the implementation.")
        auth = headers.get("Authorization", "")
        if auth[:6].lower() == "basic " and "no-basic" not in self.o.profiles:
            try:
                user, _, pw = base64.b64decode(auth[6:].strip(),
                                               validate=True).decode(
                                                   "utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                user, pw = None, None
            if user is not None and self.check_password(user, pw):
                return "basic"
        raise HTTPError(401, "InsufficientPrivilege" if auth else
                        "NoValidSession", "Authentication required",
                        {} if "no-basic" in self.o.profiles else
                        {"WWW-Authenticate": 'Basic realm="redfish-bmc"'})

    def check_password(self, user, pw):
        want = self.accounts.get(user)
        ok = want is not None and secrets.compare_digest(
            want.encode(), (pw or "").encode())
        if not ok:
            self.count("auth_failures")
        return ok

    def session_limit(self):
        if "session-limit-2" in self.o.profiles:
            return min(2, self.o.session_limit)
        return self.o.session_limit

    def session_create(self, body):
        if not isinstance(body, dict):
            raise HTTPError(400, "MalformedJSON", "The request body is not "
                            "a JSON object")
        user, pw = body.get("UserName"), body.get("Password")
        if not isinstance(user, str) or not isinstance(pw, str):
            raise HTTPError(400, "PropertyMissing",
                            "UserName and Password are required")
        if not self.check_password(user, pw):
            raise HTTPError(401, "ResourceAtUriUnauthorized",
                            "Invalid username or password")
        self.expire()
        if len(self.sessions) >= self.session_limit():
            self.count("sessions_refused")
            raise HTTPError(503, "SessionLimitExceeded",
                            "The session establishment failed due to the "
                            "number of simultaneous sessions exceeding the "
                            "limit of the implementation (%d)."
                            % self.session_limit())
        sid = "s%d-%s" % (self.next_session, secrets.token_hex(3))
        self.next_session += 1
        now = time.monotonic()
        self.sessions[sid] = {"token": secrets.token_hex(16), "user": user,
                              "created": now, "used": now}
        self.count("sessions_created")
        return sid

    # -- resources ----------------------------------------------------

    def service_root(self):
        r = {"@odata.type": "#ServiceRoot.v1_11_0.ServiceRoot",
             "@odata.id": ROOT, "Id": "RootService",
             "Name": "Castiron lab Redfish service",
             "RedfishVersion": "1.11.0",
             "UUID": str(uuid_of(self.o.serial)),
             "Vendor": self.o.manufacturer,
             "Systems": {"@odata.id": SYSTEMS},
             "Managers": {"@odata.id": MANAGERS},
             "Links": {}}
        if "no-sessions" not in self.o.profiles:
            r["SessionService"] = {"@odata.id": ROOT + "/SessionService"}
            r["Links"]["Sessions"] = {"@odata.id": SESSIONS}
        return r

    def collection(self, path, typ, name, members):
        return {"@odata.type": "#%s.%s" % (typ, typ), "@odata.id": path,
                "Name": name, "Members@odata.count": len(members),
                "Members": [{"@odata.id": m} for m in members]}

    def system(self):
        m = self.machine
        allow = list(self.o.reset_types)
        r = {"@odata.type": "#ComputerSystem.v1_13_0.ComputerSystem",
             "@odata.id": self.sys, "Id": self.sid, "Name": "System",
             "SystemType": "Physical", "SerialNumber": self.o.serial,
             "Manufacturer": self.o.manufacturer, "Model": self.o.model,
             "UUID": str(uuid_of(self.o.serial)),
             "PowerState": m.reported_power(),
             "Status": {"State": "Enabled", "Health": "OK"},
             "Boot": dict(m.boot, **{
                 "BootSourceOverrideTarget@Redfish.AllowableValues":
                     list(BOOT_TARGETS),
                 "BootSourceOverrideMode@Redfish.AllowableValues":
                     list(BOOT_MODES)}),
             "EthernetInterfaces": {"@odata.id":
                                    self.sys + "/EthernetInterfaces"},
             "Links": {"ManagedBy": [{"@odata.id": self.mgr}]},
             "Actions": {"#ComputerSystem.Reset": {
                 "target": self.sys + "/Actions/ComputerSystem.Reset",
                 "ResetType@Redfish.AllowableValues": allow}}}
        if "settings" in self.o.profiles:
            r["@Redfish.Settings"] = {
                "@odata.type": "#Settings.v1_3_3.Settings",
                "SettingsObject": {"@odata.id": self.sys + "/Settings"},
                "SupportedApplyTimes": ["OnReset"]}
        return r

    def settings(self):
        pend = self.machine.pending or self.machine.boot
        return {"@odata.type": "#ComputerSystem.v1_13_0.ComputerSystem",
                "@odata.id": self.sys + "/Settings", "Id": "Settings",
                "Name": "Pending system settings", "Boot": dict(pend)}

    def nic(self, i):
        mac = self.o.mac[i]
        return {"@odata.type": "#EthernetInterface.v1_6_0.EthernetInterface",
                "@odata.id": "%s/EthernetInterfaces/nic%d" % (self.sys, i),
                "Id": "nic%d" % i, "Name": "Network interface %d" % i,
                "MACAddress": mac, "PermanentMACAddress": mac,
                "InterfaceEnabled": True,
                "Status": {"State": "Enabled", "Health": "OK"}}

    def manager(self):
        return {"@odata.type": "#Manager.v1_10_0.Manager",
                "@odata.id": self.mgr, "Id": "bmc-" + self.sid,
                "Name": "Emulated BMC", "ManagerType": "BMC",
                "FirmwareVersion": "castiron-lab-1",
                "Links": {"ManagerForServers": [{"@odata.id": self.sys}]}}

    def session_doc(self, sid):
        s = self.sessions[sid]
        return {"@odata.type": "#Session.v1_3_0.Session",
                "@odata.id": SESSIONS + "/" + sid, "Id": sid,
                "Name": "User session", "UserName": s["user"]}

    def etag(self, doc):
        h = hashlib.sha256(json.dumps(doc, sort_keys=True).encode())
        tag = '"%s"' % h.hexdigest()[:16]
        return ("W/" + tag) if "weak-etag" in self.o.profiles else tag

    def check_if_match(self, headers, doc):
        im = headers.get("If-Match")
        if im is None:
            if "require-if-match" in self.o.profiles:
                raise HTTPError(428, "PreconditionRequired",
                                "A precondition header (If-Match) is "
                                "required for this request.")
            return
        strong = self.etag(doc)
        if strong.startswith("W/"):
            strong = strong[2:]
        tags = [t.strip() for t in im.split(",")]
        # Strong comparison (RFC 9110): a weak tag never matches.
        if "*" not in tags and strong not in tags:
            self.count("precondition_failed")
            raise HTTPError(412, "PreconditionFailed",
                            "The ETag supplied did not match the ETag "
                            "required to change this resource.")

    def boot_patch(self, body, into):
        if not isinstance(body, dict) or not isinstance(body.get("Boot"),
                                                        dict):
            raise HTTPError(400, "PropertyMissing", "Boot is required")
        self.machine.last_boot_patch = body["Boot"]
        unknown = [k for k in body if k != "Boot"]
        if unknown:
            raise HTTPError(400, "PropertyNotWritable",
                            "The property %s is not writable" % unknown[0])
        new = dict(into)
        for k, v in body["Boot"].items():
            allowed = {"BootSourceOverrideTarget": BOOT_TARGETS,
                       "BootSourceOverrideEnabled": BOOT_ENABLED,
                       "BootSourceOverrideMode": BOOT_MODES}.get(k)
            if allowed is None:
                raise HTTPError(400, "PropertyUnknown",
                                "The property Boot/%s is not known or not "
                                "writable" % k)
            if v not in allowed:
                raise HTTPError(400, "PropertyValueNotInList",
                                "The value %s for the property Boot/%s is "
                                "not in the list of acceptable values"
                                % (json.dumps(v), k))
            new[k] = v
        if (new["BootSourceOverrideTarget"] == "None" and
                "BootSourceOverrideTarget" in body["Boot"]):
            new["BootSourceOverrideEnabled"] = "Disabled"
        return new

    # -- dispatch -----------------------------------------------------

    def handle(self, method, path, headers, body):
        """(status, doc or None, extra headers) or raises HTTPError."""
        m = self.machine
        if path in ("/redfish", "/redfish/"):
            return 200, {"v1": ROOT + "/"}, {}
        if path == ROOT:
            if method != "GET":
                raise not_allowed()
            return 200, self.service_root(), {}
        if method == "POST" and "If-Match" in headers and \
                "no-if-match-on-post" in self.o.profiles:
            raise HTTPError(400, "HeaderInvalid",
                            "If-Match is not supported on POST")
        if path == SESSIONS and method == "POST":
            if "no-sessions" in self.o.profiles:
                raise HTTPError(404, "ResourceNotFound", "No such resource")
            sid = self.session_create(body)
            loc = SESSIONS + "/" + sid
            return 201, self.session_doc(sid), {
                "X-Auth-Token": self.sessions[sid]["token"],
                "Location": loc}
        auth = self.authenticate(headers)
        headers["_auth"] = auth
        if path == SYSTEMS:
            return self.get_only(method, self.collection(
                SYSTEMS, "ComputerSystemCollection", "Systems", [self.sys]))
        if path == self.sys:
            if method == "GET":
                return 200, self.system(), {}
            if method != "PATCH":
                raise not_allowed()
            self.check_if_match(headers, self.system())
            if "settings" in self.o.profiles:
                raise HTTPError(400, "PropertyNotWritable",
                                "Boot is changed through the settings "
                                "resource %s/Settings" % self.sys)
            m.boot = self.boot_patch(body, m.boot)
            return 200, self.system(), {}
        if path == self.sys + "/Settings" and "settings" in self.o.profiles:
            if method == "GET":
                return 200, self.settings(), {}
            if method != "PATCH":
                raise not_allowed()
            self.check_if_match(headers, self.settings())
            m.pending = self.boot_patch(body, m.pending or m.boot)
            return 200, self.settings(), {}
        if path == self.sys + "/Actions/ComputerSystem.Reset":
            if method != "POST":
                raise not_allowed()
            rtype = body.get("ResetType") if isinstance(body, dict) else None
            if rtype not in self.o.reset_types:
                raise HTTPError(400, "ActionParameterNotSupported",
                                "The parameter ResetType with the value %s "
                                "is not supported" % json.dumps(rtype))
            m.reset(rtype)
            return 204, None, {}
        if path == self.sys + "/EthernetInterfaces":
            return self.get_only(method, self.collection(
                path, "EthernetInterfaceCollection", "Ethernet interfaces",
                ["%s/nic%d" % (path, i) for i in range(len(self.o.mac))]))
        mm = re.fullmatch(re.escape(self.sys) + r"/EthernetInterfaces/nic(\d+)",
                          path)
        if mm and int(mm.group(1)) < len(self.o.mac):
            return self.get_only(method, self.nic(int(mm.group(1))))
        if path == ROOT + "/SessionService" and \
                "no-sessions" not in self.o.profiles:
            return self.get_only(method, {
                "@odata.type": "#SessionService.v1_1_8.SessionService",
                "@odata.id": path, "Id": "SessionService",
                "Name": "Session service", "ServiceEnabled": True,
                "SessionTimeout": int(self.o.session_timeout),
                "Sessions": {"@odata.id": SESSIONS}})
        if path == SESSIONS and "no-sessions" not in self.o.profiles:
            return self.get_only(method, self.collection(
                SESSIONS, "SessionCollection", "Sessions",
                [SESSIONS + "/" + s for s in self.sessions]))
        if path.startswith(SESSIONS + "/") and \
                path[len(SESSIONS) + 1:] in self.sessions:
            sid = path[len(SESSIONS) + 1:]
            if method == "GET":
                return 200, self.session_doc(sid), {}
            if method != "DELETE":
                raise not_allowed()
            del self.sessions[sid]
            self.count("sessions_deleted")
            return 204, None, {}
        if path == MANAGERS:
            return self.get_only(method, self.collection(
                MANAGERS, "ManagerCollection", "Managers", [self.mgr]))
        if path == self.mgr:
            return self.get_only(method, self.manager())
        raise HTTPError(404, "ResourceMissingAtURI",
                        "The resource at the URI %s was not found." % path)

    def get_only(self, method, doc):
        if method != "GET":
            raise not_allowed()
        return 200, doc, {}

    # -- inspection ---------------------------------------------------

    def state(self):
        m = self.machine
        self.expire()
        return {
            "serial": self.o.serial, "system": self.sys,
            "profiles": sorted(self.o.profiles),
            "power_state": m.power, "reported_power_state":
                m.reported_power(),
            "qemu_pid": m.qemu_pid, "boot": dict(m.boot),
            "pending_settings": m.pending,
            "last_boot_patch": m.last_boot_patch,
            "boots": m.boots, "qemu_exits": m.exits, "resets": m.resets,
            "sessions_open": len(self.sessions),
            "sessions": [{"id": k, "user": v["user"]}
                         for k, v in self.sessions.items()],
            "session_limit": self.session_limit(),
            "counters": dict(self.counters),
            "requests_total": sum(self.requests.values()),
            "requests": dict(self.requests),
            "log": self.log[-LOG_KEEP:]}

    def save(self):
        if not self.o.state:
            return
        tmp = self.o.state + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state(), f, indent=1)
        os.replace(tmp, self.o.state)

    def inject_match(self, method, path):
        for inj in self.injects:
            if inj.get("method") and inj["method"] != method:
                continue
            p = inj.get("path")
            if p and not (path.startswith(p[:-1]) if p.endswith("*")
                          else path == p):
                continue
            inj["count"] = inj.get("count", 1) - 1
            if inj["count"] <= 0:
                self.injects.remove(inj)
            return inj
        return None


def not_allowed():
    return HTTPError(405, "ActionNotSupported",
                     "The method is not allowed for this resource")


def uuid_of(serial):
    return uuid.uuid5(uuid.NAMESPACE_DNS, serial + ".castiron-lab")


def load_credentials(path):
    accounts = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line and not line.startswith("#"):
                user, sep, pw = line.partition(":")
                if not sep or not user:
                    sys.exit("redfish-bmc: %s: a line is not USER:PASSWORD"
                             % path)
                accounts[user] = pw
    if not accounts:
        sys.exit("redfish-bmc: %s: no accounts" % path)
    return accounts


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    def version_string(self):
        return "redfish-bmc/1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.serve("GET")

    def do_POST(self):
        self.serve("POST")

    def do_PATCH(self):
        self.serve("PATCH")

    def do_DELETE(self):
        self.serve("DELETE")

    def do_PUT(self):
        self.serve("PUT")

    def do_HEAD(self):
        self.serve("HEAD")

    def read_body(self):
        n = self.headers.get("Content-Length")
        if n is None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                raise HTTPError(411, "GeneralError", "Content-Length required")
            return None
        try:
            n = int(n)
        except ValueError:
            raise HTTPError(400, "GeneralError", "bad Content-Length")
        if n < 0 or n > MAX_BODY:
            raise HTTPError(413, "GeneralError", "body too large")
        raw = self.rfile.read(n)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise HTTPError(400, "MalformedJSON", "The request body "
                            "submitted was malformed JSON")

    def serve(self, method):
        bmc = self.server.bmc
        path = self.path.split("?", 1)[0]
        if len(path) > 1:
            path = path.rstrip("/") or "/"
        if path.startswith("/lab/") or path == "/lab":
            return self.lab(method, path)
        headers = {k: v for k, v in self.headers.items()}
        # Header names are case-insensitive: keep the ones used, canonical.
        for canon in ("If-Match", "X-Auth-Token", "Authorization"):
            v = self.headers.get(canon)
            headers.pop(canon, None)
            if v is not None:
                headers[canon] = v
        status, doc, extra = 500, None, {}
        body = None
        inj = None
        try:
            body = self.read_body()
            with bmc.lock:
                inj = bmc.inject_match(method, path)
            if inj and inj.get("delay"):
                time.sleep(float(inj["delay"]))
            if inj and inj.get("drop"):
                status = 0
                self.close_connection = True
                return
            if inj and (inj.get("status") or "body" in inj):
                status = int(inj.get("status", 200))
                self.send_raw(status, inj.get("body", "").encode())
                return
            with bmc.lock:
                status, doc, extra = bmc.handle(
                    "GET" if method == "HEAD" else method, path, headers,
                    body)
        except HTTPError as e:
            status, doc, extra = e.status, rf_error(e.msgid, e.message), \
                e.headers
        except Exception as e:	# a bug here must still answer
            status, doc, extra = 500, rf_error("InternalError", repr(e)), {}
        finally:
            with bmc.lock:
                rec = {"t": round(bmc.uptime(), 3), "method": method,
                       "path": path, "status": status,
                       "auth": headers.get("_auth", "none"),
                       "if_match": headers.get("If-Match"),
                       "accept_encoding": headers.get("Accept-Encoding")}
                if isinstance(body, dict):
                    rec["body"] = {k: ("(redacted)" if k == "Password" else v)
                                   for k, v in body.items()}
                bmc.log.append(rec)
                del bmc.log[:-LOG_KEEP]
                key = "%s %s" % (method, path)
                bmc.requests[key] = bmc.requests.get(key, 0) + 1
                bmc.save()
        if status:
            self.send_doc(status, doc, extra, method == "HEAD")

    def send_doc(self, status, doc, extra, head=False):
        data = b"" if doc is None else json.dumps(doc, indent=1).encode()
        self.send_response(status)
        if doc is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
            if status == 200 and "@odata.id" in doc:
                tag = self.server.bmc.etag(doc)
                self.send_header("ETag", tag)
                doc["@odata.etag"] = tag
                data = json.dumps(doc, indent=1).encode()
        self.send_header("OData-Version", "4.0")
        self.send_header("Cache-Control", "no-cache")
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_common(len(data))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def send_common(self, length):
        if self.close_connection:	# the client asked: say so
            self.send_header("Connection", "close")
        self.send_header("Content-Length", str(length))

    def send_raw(self, status, data):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_common(len(data))
        self.end_headers()
        self.wfile.write(data)

    def lab(self, method, path):
        bmc = self.server.bmc
        try:
            body = self.read_body()
        except HTTPError as e:
            return self.send_doc(e.status, rf_error(e.msgid, e.message), {})
        with bmc.lock:
            if path == "/lab/state" and method == "GET":
                return self.send_doc(200, bmc.state(), {})
            if path == "/lab/reset-counters" and method == "POST":
                bmc.counters.clear()
                bmc.requests.clear()
                bmc.log.clear()
                bmc.save()
                return self.send_doc(204, None, {})
            if path == "/lab/inject" and method == "POST" and \
                    isinstance(body, dict):
                bmc.injects.append(dict(body))
                return self.send_doc(204, None, {})
        self.send_doc(404, rf_error("ResourceMissingAtURI", path), {})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, family, bmc, ctx):
        self.address_family = family
        self.bmc = bmc
        self.ctx = ctx
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs on the connection's own thread.
        request.settimeout(30)
        try:
            request = self.ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as e:
            sys.stderr.write("tls handshake from %s failed: %s\n"
                             % (client_address[0], e))
            with self.bmc.lock:
                self.bmc.count("tls_handshake_failures")
                self.bmc.save()
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        # stderr is the emulator's log (machine.sh: bmc.log)
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError,
                                              socket.timeout)):
            super().handle_error(request, client_address)


def parse_listen(s):
    m = re.fullmatch(r"\[([0-9a-fA-F:.]+)\](?::(\d+))?", s)
    if m:
        return m.group(1), int(m.group(2) or 443), socket.AF_INET6
    host, _, port = s.partition(":")
    return host, int(port or 443), socket.AF_INET


def main():
    p = argparse.ArgumentParser(description="An emulated Redfish BMC "
                                "(see the file's header and docs/lab.md)")
    p.add_argument("--listen", action="append", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--credentials", required=True)
    p.add_argument("--serial", required=True)
    p.add_argument("--manufacturer", default="Castiron Lab")
    p.add_argument("--model", default="QEMU q35 TCG")
    p.add_argument("--mac", action="append", default=[])
    p.add_argument("--qemu-args")
    p.add_argument("--qmp")
    p.add_argument("--qemu-pidfile")
    p.add_argument("--qemu-log")
    p.add_argument("--power", choices=("on", "off"), default="off")
    p.add_argument("--profile", action="append", default=[])
    p.add_argument("--session-limit", type=int, default=8)
    p.add_argument("--session-timeout", type=float, default=1800)
    p.add_argument("--power-delay", type=float, default=2.5)
    p.add_argument("--reset-types", default=",".join(DEFAULT_RESETS))
    p.add_argument("--state")
    p.add_argument("--pidfile")
    o = p.parse_args()
    o.profiles = set()
    for item in o.profile:
        for name in item.split(","):
            if name and name not in PROFILES:
                p.error("unknown profile %s (known: %s)"
                        % (name, ", ".join(PROFILES)))
            if name:
                o.profiles.add(name)
    o.reset_types = [t for t in o.reset_types.split(",") if t]
    for t in o.reset_types:
        if t not in ALL_RESETS:
            p.error("unknown reset type %s" % t)
    if o.qemu_args and not o.qmp:
        p.error("--qemu-args needs --qmp")
    for mac in o.mac:
        if not re.fullmatch(r"([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}", mac):
            p.error("bad MAC %s" % mac)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(o.cert, o.key)
    bmc = BMC(o)
    servers = [Server(a[:2], a[2], bmc, ctx)
               for a in map(parse_listen, o.listen)]
    with bmc.lock:
        if o.power == "on" and not bmc.machine.qemu_running():
            bmc.machine.start("power-on")
        bmc.save()
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    if o.pidfile:
        with open(o.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(o.pidfile + ".tmp", o.pidfile)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    while not stop.wait(3600):
        pass
    # The BMC going away does not power the server off: QEMU stays.


if __name__ == "__main__":
    main()
