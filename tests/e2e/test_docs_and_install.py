"""What an operator reads and installs matches what the code does.

- Every VAULTMESH_* variable the daemons' sources name has a row in README's
  table for that daemon and an entry in the ENVIRONMENT section of its man
  page.
- `make install` gives units that systemd-analyze verifies, and the deployment
  README and docs/OPERATIONS.md describe is one path that works: the
  credential commands they both give (run as written, under DESTDIR) make
  exactly the files the installed unit loads (LoadCredential=), and the
  command center started as that unit would start it (its Environment=, the
  example settings copied to its EnvironmentFile=, $CREDENTIALS_DIRECTORY)
  signs with the key made and approves a node with the secret made.
- The installed example settings never ask for a secret.
"""

import os
import re
import shutil
import subprocess

import pytest

from conftest import BIN_DIR, FakeNode, parse_log_line

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = "/usr/local"
UNITS = ("vaultmesh-command-center.service", "vaultmesh-node-agent.service",
         "vaultmesh-command-center.socket")


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


# ------------------------------------------------------ variables documented

# Names matching VAULTMESH_[A-Z0-9_]+ inside string literals that are not
# environment variables, each with why. None today; a prefix used to build
# names (e.g. "VAULTMESH_SCAN_" + what) would go here, not into the docs.
NOT_VARIABLES = {}

_C_TOKENS = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'',
                       re.S)


def variables_read_by(folder):
    """VAULTMESH_* names in the string literals of folder/*.c (comments
    skipped), minus NOT_VARIABLES."""
    names = set()
    src = os.path.join(ROOT, folder)
    for fn in sorted(os.listdir(src)):
        if not fn.endswith(".c"):
            continue
        with open(os.path.join(src, fn), encoding="utf-8") as f:
            for tok in _C_TOKENS.findall(f.read()):
                if tok.startswith('"'):
                    names.update(re.findall(r"VAULTMESH_[A-Z0-9_]+", tok))
    return names - set(NOT_VARIABLES)


def readme_table_variables(heading):
    """Names in the first column of the table under `### heading` in README."""
    text = read("README.md")
    m = re.search(rf"^### {re.escape(heading)}\n(.*?)(?=^#)", text, re.M | re.S)
    assert m, f"README has no '### {heading}' section"
    names = set()
    for line in m.group(1).splitlines():
        if line.startswith("|"):
            names.update(re.findall(r"`(VAULTMESH_[A-Z0-9_]+)`", line.split("|")[1]))
    return names


def man_environment_variables(page):
    """Names in the tags (the line after .TP) of the page's ENVIRONMENT section."""
    text = read(f"man/{page}")
    m = re.search(r"^\.SH ENVIRONMENT\n(.*?)(?=^\.SH )", text, re.M | re.S)
    assert m, f"{page} has no ENVIRONMENT section"
    lines = m.group(1).splitlines()
    names = set()
    for i, line in enumerate(lines[:-1]):
        if line.strip() == ".TP":
            names.update(re.findall(r"VAULTMESH_[A-Z0-9_]+", lines[i + 1]))
    return names


@pytest.mark.parametrize("folder,table,page", [
    ("command-center", "Command center", "vaultmesh-command-center.8"),
    ("node-agent", "Node agent", "vaultmesh-node-agent.8"),
])
def test_every_variable_the_code_reads_is_in_the_readme_table_and_the_man_page(
        folder, table, page):
    read_by_code = variables_read_by(folder) | variables_read_by("common")
    assert len(read_by_code) > 10, read_by_code       # the extraction works
    assert not read_by_code - readme_table_variables(table), \
        f"README '{table}' table lacks {sorted(read_by_code - readme_table_variables(table))}"
    assert not read_by_code - man_environment_variables(page), \
        f"man/{page} ENVIRONMENT lacks {sorted(read_by_code - man_environment_variables(page))}"


def test_allow_listed_names_are_still_in_the_code():
    everywhere = set()
    for folder in ("command-center", "node-agent", "common"):
        for fn in os.listdir(os.path.join(ROOT, folder)):
            if fn.endswith(".c"):
                everywhere |= set(re.findall(r"VAULTMESH_[A-Z0-9_]+",
                                             read(f"{folder}/{fn}")))
    assert set(NOT_VARIABLES) <= everywhere, set(NOT_VARIABLES) - everywhere


# ---------------------------------------------------------------- install

@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`make install` of the binaries under test into a DESTDIR; returns it.
    BUILD names them and `-o all` keeps make from rebuilding them (it would
    change the binaries the other tests run, or meet a half-edited source)."""
    dest = tmp_path_factory.mktemp("install") / "dest"
    r = subprocess.run(["make", "-C", ROOT, "-s", "install", f"DESTDIR={dest}",
                        f"PREFIX={PREFIX}", f"BUILD={os.path.abspath(BIN_DIR)}",
                        "-o", "all"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return dest


def unit_text(dest, name):
    return (dest / PREFIX.lstrip("/") / "lib/systemd/system" / name).read_text()


def unit_settings(text, key):
    return [ln.split("=", 1)[1] for ln in text.splitlines() if ln.startswith(key + "=")]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze not installed")
def test_installed_units_pass_systemd_analyze_verify(installed, tmp_path):
    # systemd is not PID 1 here and --root wants a whole OS tree: verify
    # copies whose programs point into DESTDIR, as in test_systemd.py.
    check = tmp_path / "verify"
    check.mkdir()
    for u in UNITS:
        text = unit_text(installed, u)
        assert f"{PREFIX}/bin/" in text or u.endswith(".socket"), text
        (check / u).write_text(text.replace(f"{PREFIX}/bin/", f"{installed}{PREFIX}/bin/"))
    r = subprocess.run(["systemd-analyze", "verify"] + [str(check / u) for u in UNITS],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    bad = [ln for ln in (r.stdout + r.stderr).splitlines() if "vaultmesh" in ln]
    assert not bad, bad


def test_installed_example_settings_ask_for_no_secret(installed):
    etc = installed / "etc/vaultmesh"
    cc_env = (etc / "command-center.env.example").read_text()
    # Not even commented out: the unit takes secrets only as credentials.
    for name in ("VAULTMESH_ENROLL_SECRET", "VAULTMESH_CC_KEY_PATH"):
        assert name not in cc_env, cc_env
    # It says where they go instead: the files the unit loads.
    for cred in unit_settings(unit_text(installed, UNITS[0]), "LoadCredential"):
        assert cred.split(":", 1)[1] in cc_env, cc_env


def section(text, start, end):
    m = re.search(rf"^{start}\n(.*?)(?=^{end})", text, re.M | re.S)
    assert m, f"no section {start!r}"
    return m.group(1)


def credential_block(doc_section, where):
    """The ```sh block that makes the signing key, dedented."""
    blocks = re.findall(r"^( *)```sh\n(.*?)^\1```", doc_section, re.M | re.S)
    found = [b for ind, b in blocks if "--generate-key" in b]
    assert len(found) == 1, f"{where}: no single ```sh block with --generate-key"
    return "\n".join(ln.strip() for ln in found[0].splitlines())


def deployment_docs():
    readme = section(read("README.md"), "## Deployment", "## ")
    ops = section(read("docs/OPERATIONS.md"),
                  "## 2. The command center behind Cloudflare Tunnel and Access", "## 3")
    return readme, ops


def test_readme_and_operations_give_the_same_credentials_the_unit_loads(installed):
    readme, ops = deployment_docs()
    # One way, written the same in both.
    assert credential_block(readme, "README") == credential_block(ops, "OPERATIONS")
    creds = unit_settings(unit_text(installed, UNITS[0]), "LoadCredential")
    assert creds, "the command center unit loads no credentials"
    for cred in creds:
        path = cred.split(":", 1)[1]
        assert path in credential_block(readme, "README"), path
    # The README step that sets up command-center.env keeps the secret out of it.
    steps = re.split(r"^\d+\. ", readme, flags=re.M)
    cc_steps = [s for s in steps if "command-center.env" in s]
    assert cc_steps, readme
    for s in cc_steps:
        assert "VAULTMESH_ENROLL_SECRET" not in s, s
        assert "command-center.env.example" in s and "policy.json.example" in s, s


def test_the_documented_credentials_start_the_command_center_as_its_unit_would(
        installed, tmp_path, cc):
    etc = installed / "etc/vaultmesh"
    bindir = installed / PREFIX.lstrip("/") / "bin"
    unit = unit_text(installed, UNITS[0])

    # The README's commands, as written, with /etc/vaultmesh inside DESTDIR
    # and the installed binary (the test runs as whoever it runs as: no sudo).
    readme, _ = deployment_docs()
    script = credential_block(readme, "README").replace("/etc/vaultmesh/", f"{etc}/")
    script = re.sub(r"\bsudo ", "", script)
    assert "/etc/" not in script.replace(str(etc), ""), script
    r = subprocess.run(["sh", "-ec", script], capture_output=True, text=True, timeout=30,
                       env={**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"})
    assert r.returncode == 0, r.stdout + r.stderr
    public_key = r.stdout.split()[0]
    # The settings the README says to copy.
    shutil.copy(etc / "command-center.env.example", etc / "command-center.env")
    shutil.copy(etc / "policy.json.example", etc / "policy.json")

    def here(value):
        return value.replace("/etc/vaultmesh/", f"{etc}/")

    # What systemd would do: every credential file must exist (else the unit
    # fails before the daemon runs), copied into $CREDENTIALS_DIRECTORY.
    credentials = tmp_path / "credentials"
    credentials.mkdir(mode=0o700)
    for cred in unit_settings(unit, "LoadCredential"):
        name, path = cred.split(":", 1)
        src = here(path)
        assert os.path.exists(src), f"LoadCredential={cred}: the docs did not make it"
        assert os.stat(src).st_mode & 0o077 == 0, f"{path} is readable by others"
        shutil.copy(src, credentials / name)
        os.chmod(credentials / name, 0o400)
    env = {"CREDENTIALS_DIRECTORY": str(credentials),
           "VAULTMESH_CC_KEY_PATH": None}       # the unit does not set it
    for setting in unit_settings(unit, "Environment"):
        k, v = setting.split("=", 1)
        # Its address and state directory are the host's; the test has its own.
        if k not in ("VAULTMESH_LISTEN", "VAULTMESH_DB"):
            env[k] = here(v)
    for envfile in unit_settings(unit, "EnvironmentFile"):
        path = here(envfile.lstrip("-"))
        if envfile.startswith("-") and not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    k, v = line.split("=", 1)
                    env[k] = here(v)

    c = cc(secret=None, env=env)
    listening = [parse_log_line(ln) for ln in c.lines if "event=listening" in ln][0]
    assert listening["enroll_secret"] == "set", listening
    assert listening["cc_public_key"] == public_key, listening
    secret = (etc / "enroll-secret").read_text().splitlines()[0]
    n = FakeNode(c)
    assert n.enroll(secret="not-" + secret).status == 202
    approved = FakeNode(c)
    r = approved.enroll(secret=secret)
    assert r.status == 200, r
    assert approved.cc_public_key == public_key
