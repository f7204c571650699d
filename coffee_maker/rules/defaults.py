"""The shipped rules: risky requests named with a class and a reason, routine work allowed.

Regexes search one simple command's text after wrappers (`timeout 60`, `uv run`, `npx`,
`.venv/bin/`, `git -C dir`, `git --no-pager`) are removed — `git push`, not
`GIT_TRACE=1 timeout 5 git -C sub push`. Rules with a class are checked before every
allow rule; the rest keep their order.
"""

from __future__ import annotations

from coffee_maker.rules.model import PermissionRule
from coffee_maker.types import RiskClass as C

_FILE = "Read|Edit|Write|MultiEdit|NotebookEdit|Glob|Grep|LS"
_ANY = "Bash|" + _FILE
_WRITE = "Bash|Edit|Write|MultiEdit|NotebookEdit"
_NO_PUSH = "The daemon pushes and opens the pull request itself; do not push, merge or rewrite history."


def _r(name: str, tool: str, decision: str, risk: C | None = None, reason: str | None = None, **match: object
       ) -> PermissionRule:
    return PermissionRule.model_validate({"name": name, "tool": tool, "decision": decision, "class": risk,
                                          "reason": reason, **match})


_SECRET_PATHS = ("**/.env", "**/.env.*", "**/*.pem", "**/*.key", "**/*.p12", "**/*.pfx", "**/id_rsa*",
                 "**/id_ed25519*", "**/id_ecdsa*", "**/.ssh", "**/.ssh/**", "**/.aws", "**/.aws/**", "**/.gnupg", "**/.netrc", "**/.npmrc",
                 "**/.pypirc", "**/secrets.*", "**/.git-credentials", "**/.gnupg/**", "**/.config/gh/**",
                 "**/.docker/config.json", "**/.kube/config", "**/.config/gcloud/**", "**/.azure/**",
                 "**/credentials.json", "**/.vault-token", "**/shadow", "proc/*/environ", "**/.bash_history",
                 "**/.zsh_history", "**/.terraformrc", "**/*.tfstate", "**/.cargo/credentials*")
_SELF_PATHS = ("**/.claude/**", "**/.mcp.json", "**/CLAUDE.local.md", "**/coffee_maker.toml", "**/.coffee_maker/**",
               "**/.github/workflows/**", "**/.github/actions/**", "**/.gitlab-ci.yml", "**/.circleci/**",
               "**/Jenkinsfile", "**/.travis.yml", "**/azure-pipelines.yml", "**/.buildkite/**", "**/bitbucket-pipelines.yml",
               "**/.git/hooks/**", "**/.husky/**", "**/.pre-commit-config.yaml", "**/.git/config", "**/.gitmodules",
               "**/.envrc", "**/.vscode/tasks.json", "**/.vscode/settings.json", "**/.devcontainer/**",
               "**/.bashrc", "**/.bash_profile", "**/.profile", "**/.zshrc", "**/.zprofile", "**/.gitconfig",
               "**/.ssh/authorized_keys", "**/.config/autostart/**", "**/.config/systemd/**", "**/crontab*")
_DEVICES = ("dev/sd*", "dev/nvme*", "dev/hd*", "dev/vd*", "dev/xvd*", "dev/disk*", "dev/mmcblk*", "dev/mem",
            "dev/kmem", "dev/port", "dev/loop*", "dev/mapper/**", "dev/md*")


def risky_permission_rules() -> list[PermissionRule]:
    """Named risks, each with a class and the sentence the person sees."""
    secret = "Secret files and credentials are off limits."
    rules = [_r(f"secret-file-{i}", _ANY, "deny", C.SECRET, secret, path=g) for i, g in enumerate(_SECRET_PATHS)]
    rules += [_r(f"self-permission-{i}", _WRITE, "ask", C.PERSISTENCE,
                 "This changes the agent's own permissions or what runs later (agent settings, coffee_maker config, "
                 "CI, git hooks, shell start-up files): a person decides.", path=g, access="write")
              for i, g in enumerate(_SELF_PATHS)]
    rules += [_r(f"raw-device-{i}", "Bash", "deny", C.DESTRUCTION, "Writing to a raw device destroys data.",
                 path=g, access="write") for i, g in enumerate(_DEVICES)]
    rules += [
        _r("unparseable-command", "Bash", "ask", C.OPAQUE_CODE,
           "The shell parser could not read this command, so its parts cannot be judged.", check="unparseable"),
        _r("defines-function", "Bash", "ask", C.OPAQUE_CODE,
           "This defines a shell function: a later command may not be what its name says.", check="defines-function"),
        _r("shaping-assignment", "Bash", "ask", C.PERSISTENCE,
           "An assignment holds for the commands after it, and this variable changes what they run "
           "(PATH, LD_PRELOAD, GIT_SSH_COMMAND, CC or RUSTC_WRAPPER naming a program outside the worktree, "
           "MAVEN_OPTS loading an agent…).", check="shaping-assignment"),
        _r("shaping-prefix", "Bash", "ask", C.OPAQUE_CODE,
           "This command runs with a variable that changes what it loads or runs (LD_PRELOAD, GIT_SSH_COMMAND, "
           "a PATH or PYTHONPATH outside the worktree, CC or RUSTC_WRAPPER naming a program outside it, "
           "MAVEN_OPTS or JAVA_TOOL_OPTIONS with -javaagent…): code the rules have not seen.", check="shaping-prefix"),
        _r("secret-assignment", "Bash", "deny", C.SECRET,
           "This copies a credential into another variable, where a later command could print it unseen.",
           check="secret-assignment"),
        _r("secret-test", "Bash", "deny", C.SECRET,
           "This reads a variable whose name looks like a credential outside any command: a test "
           "(`[[ $TOKEN == … ]]`, `case $TOKEN in`), arithmetic (`(( TOKEN ))`), an assignment's value "
           "(`X=${#TOKEN}`) or a redirection (`done <<< $TOKEN`, a here-document): it gives the value away.",
           check="secret-test"),
        _r("forge-tool", "mcp__*merge*|mcp__*delete*|mcp__*push*|mcp__*release*|mcp__*secret*|mcp__*deploy*|"
           "mcp__*create_pull*|mcp__*update_ref*|mcp__*fork*|mcp__*workflow*", "ask", C.HISTORY_REMOTE,
           "This tool changes the forge or a deployment (merge, delete, push, release, secrets)."),
        _r("manifest-lifecycle-script", "Edit|Write|MultiEdit", "ask", C.PERSISTENCE,
           "This adds an install or build hook (postinstall, setup.py, build.rs, a build backend): it runs later, "
           "outside the rules.", check="lifecycle-script"),
        _r("grep-glob-secrets", "Grep|Glob", "deny", C.SECRET, "Searching secret files is off limits.",
           check="secret-search"),
        _r("outside-repo-files", _FILE, "deny", C.OUTSIDE_WORKTREE, "Stay inside the repository.", inside_repo=False),
        # ---- secrets through the environment and credential helpers
        _r("env-dump", "Bash", "deny", C.SECRET, "Dumping the environment prints credentials.", check="env-dump"),
        _r("secret-variable", "Bash", "deny", C.SECRET,
           "This reads a variable whose name looks like a credential (*_KEY, *_TOKEN, *_SECRET, *PASSWORD*).",
           check="secret-variable"),
        _r("credential-helper", "Bash", "deny", C.SECRET, "Credential helpers and token commands print secrets.",
           command=r"^git\s+credential\b|^git\s+config\b.*\bcredential|^gh\s+auth\s+(token|status\s+.*-t|refresh)"
                   r"|^glab\s+auth\s+status\s+.*-t|^aws\s+(configure\s+(get|export-credentials)|sts\s+get-session-token|"
                   r"ecr\s+get-login)|^gcloud\s+auth\s+(print-|application-default\s+print)|^az\s+account\s+"
                   r"get-access-token|^docker-credential-|^docker\s+login\b|^npm\s+token\b|^security\s+find-"
                   r"|^secret-tool\s+lookup|^pass\s+(show|\S+$)|^op\s+(read|item\s+get|signin)|^vault\s+(read|kv\s+get|"
                   r"token)|^kubectl\s+get\s+secrets?\b|^heroku\s+auth:token|^keyring\s+get|^gpg\s+(--export-secret|-d\b|"
                   r"--decrypt)|^ssh-add\s+-L|^git-credential"),
        # ---- code the rules cannot read
        _r("pipe-to-shell", "Bash", "deny", C.OPAQUE_CODE,
           "Piping into a shell or an interpreter runs code nobody has read (a download, a decoded string).",
           check="shell-from-pipe"),
        _r("opaque-code", "Bash", "ask", C.OPAQUE_CODE,
           "eval, a one-liner (python -c, node -e, perl -e…) or a command built from a variable cannot be judged.",
           check="opaque-code"),
        # ---- history and the remote
        _r("git-push", "Bash", "deny", C.HISTORY_REMOTE, _NO_PUSH, command=r"^git\s+push\b"),
        _r("git-history", "Bash", "deny", C.HISTORY_REMOTE, _NO_PUSH,
           command=r"^git\s+(merge|rebase|reset\s+(.*\s)?--hard|filter-branch|filter-repo|commit\s+(.*\s)?--amend|"
                   r"remote\s+(add|set-url|remove|rm|rename|set-head|prune)|update-ref|replace|reflog\s+(expire|delete)|"
                   r"gc\s+.*--prune|prune|branch\s+(.*\s)?(-[dD]|--delete|-[mM]|--move|-f|--force)|"
                   r"tag(?!\s*$|\s+(-l|--list)\b)|symbolic-ref|notes\s+(add|remove)|push)\b"),
        _r("git-commit", "Bash", "deny", C.HISTORY_REMOTE, "The daemon commits after its checks.",
           command=r"^git\s+(commit|cherry-pick|revert|am)\b"),
        _r("git-config-write", "Bash", "ask", C.PERSISTENCE,
           "Changing git configuration (hooks path, aliases, global settings) changes what runs later.",
           command=r"^git\s+config\s+(?!.*(--get|--list|-l)\b)|^git\s+-c\s|^git\s+(init|worktree\s+add|submodule\s+add)\b"),
        _r("forge-merge", "Bash", "deny", C.HISTORY_REMOTE, "Merging is the person's decision, after review.",
           command=r"^(gh|glab|hub)\s+(pr|mr)\s+merge\b|^glab\s+mr\s+(approve|merge)\b|^gh\s+pr\s+review\s+.*--approve"),
        _r("forge-write", "Bash", "ask", C.HISTORY_REMOTE,
           "This changes the forge (pull requests, issues, workflows, repository settings); the daemon opens "
           "the pull request itself.",
           command=r"^(gh|glab)\s+(pr|mr|issue|workflow|run|label|project|cache|ruleset)\s+(create|edit|close|reopen|"
                   r"comment|delete|run|rerun|cancel|enable|disable|lock|transfer|ready|review|update-branch)\b"
                   r"|^(gh|glab)\s+api\b.*(\s-X\s*|--method\s*=?\s*)(POST|PUT|PATCH)\b|^gh\s+api\b.*\s-(f|F)\s"),
        _r("forge-delete", "Bash", "deny", C.DESTRUCTION, "Deleting on the forge cannot be undone by the daemon.",
           command=r"^(gh|glab)\s+(repo\s+(delete|archive|rename|edit)|release\s+delete|api\b.*(-X\s*|--method\s*=?\s*)"
                   r"DELETE)\b"),
        _r("forge-secrets", "Bash", "deny", C.SECRET, "Forge secrets, variables and keys are the person's.",
           command=r"^(gh|glab)\s+(secret|variable|ssh-key|gpg-key|auth\s+(login|logout|setup-git)|deploy-key)\b"),
        # ---- publishing
        _r("publish", "Bash", "deny", C.PUBLISH, "Publishing a package or a release is the person's decision.",
           command=r"^(npm|pnpm|yarn|bun)\s+(publish|unpublish|deprecate|dist-tag)\b|^yarn\s+npm\s+publish"
                   r"|^(twine|flit|hatch|poetry|uv|pdm)\s+(upload|publish)\b|^python[0-9.]*\s+-m\s+twine\s+upload"
                   r"|^python[0-9.]*\s+setup\.py\s+.*(upload|register)|^cargo\s+(publish|yank|owner)\b"
                   r"|^gem\s+(push|yank|owner)\b|^(mvn|mvnw|\./mvnw)\s+(.*\s)?(deploy|release:\w+)\b"
                   r"|^(gradle|gradlew|\./gradlew)\s+(.*\s)?(publish\w*|uploadArchives)\b|^dotnet\s+nuget\s+push"
                   r"|^(docker|podman|buildah)\s+(push|login)\b|^helm\s+push\b|^goreleaser\b|^(vsce|ovsx)\s+publish"
                   r"|^pod\s+trunk\s+push|^(anaconda|conda)\s+upload|^(gh|glab)\s+release\s+(create|upload|edit)\b"
                   r"|^npx\s+semantic-release|^semantic-release\b|^changeset\s+publish|^lerna\s+publish"),
        # ---- production and the cloud
        _r("production-cloud", "Bash", "ask", C.PRODUCTION_CLOUD,
           "This acts on cloud or production infrastructure.",
           command=r"^(aws|gcloud|gsutil|az|doctl|flyctl|fly|heroku|vercel|netlify|railway|render|wrangler|firebase|"
                   r"eb|sam|cdk|pulumi|serverless|sls|ansible|ansible-playbook|oc|eksctl|linode-cli|hcloud|scw)\b"
                   r"(?!\s+(--version|version|--help|help)\s*$)"
                   r"|^kubectl\s+(?!(get|describe|logs|explain|version|config\s+view|api-resources|top)\b)"
                   r"|^helm\s+(install|upgrade|uninstall|delete|rollback)\b|^terraform\s+(apply|destroy|import|taint|"
                   r"state\s+(rm|mv|push)|force-unlock|workspace\s+delete)\b|^(psql|mysql|mongo|mongosh|redis-cli|"
                   r"cqlsh|sqlcmd)\b.*(-h\s*|--host[= ]|://)(?!localhost|127\.0\.0\.1)|\b(deploy|rollout)\b.*"
                   r"(--)?(prod|production|live)\b|(^|\s)(--?env(ironment)?[= ]|--stage[= ]|--target[= ])(prod|production|"
                   r"live)\b|(^|\s)--prod(uction)?\b|^(ssh|mosh)\s"
                   r"|^(make|just|task|rake|npm\s+run|yarn(\s+run)?|pnpm(\s+run)?|bun\s+run|mvn|gradle|\./gradlew)"
                   r"\s+(\S+\s+)*(deploy|release|publish|ship|promote)\S*(\s|$)"),
        # ---- destruction
        _r("rm-outside", "Bash", "deny", C.DESTRUCTION, "Deleting outside the repository is not allowed.",
           command=r"^(sudo\s+)?rm\s+(-\S*\s+)*(/|~|\$HOME|\.\.|\*\s*$)"),
        _r("destructive", "Bash", "deny", C.DESTRUCTION, "Destructive system commands are not allowed.",
           command=r"^(sudo|su|doas|pkexec|dd|mkfs\S*|fdisk|sfdisk|parted|wipefs|blkdiscard|mkswap|shutdown|reboot|"
                   r"halt|poweroff|chown|chgrp|kill(all)?|pkill|xkill|init|telinit|iptables|nft|ufw|mount|umount|"
                   r"swapoff|crontab|at|launchctl|visudo|useradd|userdel|usermod|passwd|chpasswd)\b"
                   r"|^chmod\s+(-\S+\s+)*(0?777|a\+w|o\+w|[ugo]*\+s)\b|^systemctl\s+(?!(status|--user\s+status|"
                   r"list-\w+|show|is-active|is-enabled)\b)|:\(\)\s*\{|^shred\b"),
        _r("database-drop", "Bash", "ask", C.DESTRUCTION, "This drops or truncates database data.",
           command=r"(?i)\b(drop\s+(table|database|schema)|truncate\s+table|delete\s+from)\b|\bdropdb\b|"
                   r"flushall|flushdb"),
        _r("docker-host", "Bash", "ask", C.OUTSIDE_WORKTREE,
           "This container reaches the host (privileged, host mounts, host network, the Docker socket).",
           command=r"^(docker|podman)\s+(run|create|exec)\b.*(--privileged|-v\s*/|--volume[= ]/|--mount\s.*src(e)?=/|"
                   r"--network[= ]host|--net[= ]host|--pid[= ]host|docker\.sock|--cap-add)"),
        # ---- the network
        _r("upload", "Bash", "ask", C.EXFILTRATION,
           "This sends data off the machine (a request body, an upload, a socket, a copy to another host).",
           check="upload"),
        # ---- outside the worktree
        _r("writes-outside", "Bash", "ask", C.OUTSIDE_WORKTREE, "This writes outside the worktree.",
           check="writes-outside"),
        _r("reads-outside", "Bash", "ask", C.OUTSIDE_WORKTREE,
           "This touches a path outside the worktree (the person's own checkout counts as outside).",
           check="reads-outside"),
        _r("unknown-path", "Bash", "ask", C.OUTSIDE_WORKTREE,
           "Where this path points depends on a variable or a `cd` that cannot be followed.", check="unknown-path"),
    ]
    return rules
