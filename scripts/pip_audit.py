"""`make lint`'s advisory check: pip-audit over the packages of this environment.

pip-audit needs its advisory service. When that cannot be reached the check is skipped with
a message, never failed for lack of network; a known vulnerability fails it. Pass pip-audit
options after the script (e.g. `--ignore-vuln ID`, with the reason in docs/security.md)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

UNREACHABLE = re.compile(
    r"ConnectionError|ProxyError|Max retries|timed out|Temporary failure|Name or service"
    r"|NameResolution|Network is unreachable|SSLError|ServiceError",
)


def main(argv: list[str]) -> int:
    pip_audit = Path(sys.executable).with_name("pip-audit")
    command = [str(pip_audit), "--progress-spinner", "off", "--format", "json", "--local", *argv]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)  # nosec B603 # our own argv, no shell
    except subprocess.TimeoutExpired:
        print("pip-audit: skipped, the advisory service did not answer within 300 s")
        return 0
    try:
        report = json.loads(result.stdout)
    except ValueError:
        if UNREACHABLE.search(result.stderr):
            last = (result.stderr.strip().splitlines() or [""])[-1][:160]
            print(f"pip-audit: skipped, the advisory service is unreachable ({last})")
            return 0
        sys.stderr.write(result.stderr)
        return result.returncode or 1
    found = [d for d in report.get("dependencies", []) if d.get("vulns")]
    for dependency in found:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
            print(f"{dependency['name']} {dependency['version']}: {vuln['id']} ({fixed})")
    if found:
        return 1
    print(f"pip-audit: {len(report.get('dependencies', []))} packages, no known vulnerability")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
