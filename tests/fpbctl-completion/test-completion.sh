#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fpbctl's bash completion (host-plugin/fpbctl/fpbctl.bash-completion),
# completed in a real bash (--norc): subcommands, options, --mode and
# --migration-method values, files and sockets, domain names from virsh
# (a stand-in virsh that logs its arguments: --connect is passed through),
# policy's KEY=VALUE; some of it as keys typed into an interactive bash.
# Then every option the completion offers, for every subcommand and form,
# against the options of the real `fpbctl ... --help`, both ways, and
# whether each takes a value. TAP on stdout.
# Environment: FPBCTL (the built fpbctl), FPBCTL_COMPLETION (the file).
set -euo pipefail
fpbctl=$(realpath "${FPBCTL:?FPBCTL is not set}")
completion=$(realpath "${FPBCTL_COMPLETION:?FPBCTL_COMPLETION is not set}")
here=$(cd "$(dirname "$0")" && pwd)
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
note() { echo "# $*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/fpb-completion-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The stand-in virsh: two domains, its arguments logged.
mkdir "$work/bin" "$work/dir" "$work/sock" "$work/sock/sub"
cat >"$work/bin/virsh" <<'EOF'
#!/bin/sh
printf '%s\n' "$*" >>"$FAKE_VIRSH_LOG"
printf 'dom-a\ndom-b\n\n'
EOF
chmod +x "$work/bin/virsh"
export FAKE_VIRSH_LOG=$work/virsh.log
export PATH=$work/bin:$PATH
: >"$work/facts.json"
: >"$work/sock/file"
cd "$work"

# complete LINE: the replies for the cursor at LINE's end, sorted, one a
# line. COMP_WORDS split as bash splits them: at blanks, and around ':'
# and '=' (in COMP_WORDBREAKS).
complete_line() {
    # shellcheck disable=SC2016 # the inner script expands its own variables
    env -u BASH_ENV bash --norc --noprofile -c '
        set -u
        source "$1"
        line=$2
        spec=$(complete -p fpbctl) || exit 3
        func=${spec#*-F }
        func=${func%% *}
        COMP_WORDS=()
        read -ra toks <<<"$line"
        for t in "${toks[@]}"; do
            while [[ $t =~ ^([^:=]*)([:=]+)(.*)$ ]]; do
                rest=${BASH_REMATCH[3]} sep=${BASH_REMATCH[2]}
                [[ -n ${BASH_REMATCH[1]} ]] && COMP_WORDS+=("${BASH_REMATCH[1]}")
                COMP_WORDS+=("$sep")
                t=$rest
            done
            [[ -n $t ]] && COMP_WORDS+=("$t")
        done
        [[ $line == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE=$line
        COMP_POINT=${#line}
        COMPREPLY=()
        "$func" fpbctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        if ((${#COMPREPLY[@]} > 0)); then printf "%s\n" "${COMPREPLY[@]}"; fi
    ' complete "$completion" "$1" | LC_ALL=C sort
}

# expect LINE WORD...: the replies for LINE are exactly WORD...
expect() {
    local line=$1 got want
    shift
    got=$(complete_line "$line" | tr '\n' ' ')
    want=$(if (($# > 0)); then printf '%s\n' "$@"; fi | LC_ALL=C sort | tr '\n' ' ')
    if [ "$got" = "$want" ]; then
        ok "'$line' completes to: ${want:-nothing}"
    else
        not_ok "'$line' completes to: ${want:-nothing}"
        note "got: ${got:-nothing}"
    fi
}

# virsh_called_with LINE ARGS: completing LINE runs `virsh ARGS` (only).
virsh_called_with() {
    local got
    : >"$FAKE_VIRSH_LOG"
    complete_line "$1" >/dev/null
    got=$(cat "$FAKE_VIRSH_LOG")
    if [ "$got" = "$2" ]; then
        ok "'$1' runs virsh $2"
    else
        not_ok "'$1' runs virsh $2"
        note "got: virsh ${got:-(not run)}"
    fi
}

# help_options ARG...: the long options `fpbctl ARG... --help` lists; with
# HELP_ARGS_ONLY=1 only those that take a value (--opt=VALUE).
help_options() {
    local re='^ +(-[a-zA-Z], )?(--[a-z0-9-]+)'
    [ "${HELP_ARGS_ONLY:-0}" = 1 ] && re+='='
    "$fpbctl" "$@" --help | sed -nE "s/$re.*/\\2/p" | LC_ALL=C sort -u
}

# ---- subcommands
commands=$("$fpbctl" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
# shellcheck disable=SC2086 # one word a command
expect 'fpbctl ' $commands
expect 'fpbctl mi' migrate
expect 'fpbctl e' enable-hints evacuate explain
expect 'fpbctl st' status
expect 'fpbctl -' --help --version
expect 'fpbctl nosuch ' # an unknown command: nothing

# ---- options
expect 'fpbctl migrate --dest' --dest-qmp
expect 'fpbctl migrate --m' --max-bandwidth --max-prep-seconds --migrate-uri --migration-method --mode
expect 'fpbctl migrate --qmp s.sock --m' --max-bandwidth --max-prep-seconds --migration-method --mode
expect 'fpbctl migrate dom-a --v' --via-fpbd
expect 'fpbctl migrate --qmp s.sock --v' # no --via-fpbd for a bare QEMU
expect 'fpbctl evacuate --d' --db --deadline --dry-run
expect 'fpbctl evacuate --p' --parallel --progress
expect 'fpbctl evacuate --pa' --parallel
expect 'fpbctl evacuate --a' --allow-unsafe-live-migration
expect 'fpbctl evacuate --ac' # no --accept-risk for evacuate
expect 'fpbctl history ' --db --help --html --json --last --svg --vm
expect 'fpbctl explain --json --f' --facts --floor

# ---- values
expect 'fpbctl migrate --mode ' auto none hint balloon hint+balloon
expect 'fpbctl explain --mode h' hint hint+balloon
expect 'fpbctl migrate --mode=h' hint hint+balloon
expect 'fpbctl migrate --mode=' auto none hint balloon hint+balloon
expect 'fpbctl evacuate --mode ' auto none
expect 'fpbctl migrate dom-a --migration-method ' auto precopy postcopy paused
expect 'fpbctl evacuate --migration-method=p' precopy postcopy paused
expect 'fpbctl explain --qemu-tcg-dirty-tracking ' fixed broken
expect 'fpbctl migrate --name ' # free text: nothing
modes=$("$fpbctl" explain --help | sed -n '/^Modes (--mode):/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
# shellcheck disable=SC2086 # one word a mode
expect 'fpbctl explain --mode ' $modes
evacuate_modes=$("$fpbctl" evacuate --help | sed -nE 's/^ +--mode=([a-z|+]+) .*/\1/p' | tr '|' ' ')
# shellcheck disable=SC2086 # one word a mode
expect 'fpbctl evacuate --mode ' $evacuate_modes

# ---- files and sockets
expect "fpbctl explain --facts $work/fa" "$work/facts.json"
expect "fpbctl explain --facts=$work/fa" "$work/facts.json"
expect "fpbctl history --db $work/d" "$work/dir"
if command -v python3 >/dev/null; then
    # the socket file stays when its process is gone
    python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
        "$work/sock/qmp.sock"
    expect "fpbctl migrate --qmp $work/sock/" "$work/sock/sub" "$work/sock/qmp.sock"
    expect "fpbctl explain --dest-qmp $work/sock/q" "$work/sock/qmp.sock"
else
    skip "sockets: needs python3 to make one"
fi
expect "fpbctl status --socket $work/sock/f" # a regular file is no socket

# ---- domain names
expect 'fpbctl explain ' dom-a dom-b
expect 'fpbctl explain dom-b' dom-b
expect 'fpbctl migrate --mode hint d' dom-a dom-b
expect 'fpbctl migrate dom-a ' # DESTURI
expect 'fpbctl evacuate --to qemu+ssh://b/system dom-a ' dom-b
expect 'fpbctl policy ' dom-a dom-b
expect 'fpbctl enable-hints --fpb-qemu ' dom-a dom-b
expect 'fpbctl recover ' dom-a dom-b
expect 'fpbctl explain --qmp s.sock --j' --json # the bare form has no DOMAIN
virsh_called_with 'fpbctl explain ' '-c qemu:///system list --name'
virsh_called_with 'fpbctl migrate --connect qemu+ssh://root@a/system ' \
    '-c qemu+ssh://root@a/system list --name'
virsh_called_with 'fpbctl evacuate --connect=test:///default --to qemu:///x ' \
    '-c test:///default list --name'
virsh_called_with 'fpbctl policy -c qemu:///session ' '-c qemu:///session list --all --name'
virsh_called_with 'fpbctl enable-hints -ctest:///default ' '-c test:///default list --all --name'
virsh_called_with 'fpbctl recover --db j.db ' '-c qemu:///system list --all --name'
virsh_called_with 'fpbctl explain --mode ' ''
virsh_called_with 'fpbctl explain --qmp s.sock ' ''

# ---- policy KEY=VALUE
expect 'fpbctl policy dom-a ' balloon= floor= max-prep-seconds= mode= objective= reclaim= reclaim-cache-bound=
expect 'fpbctl policy dom-a reclaim=s' split split+cache
expect 'fpbctl policy dom-a mode=hint objective=' time bytes guest-impact
expect 'fpbctl policy dom-a mode=b' balloon
expect 'fpbctl policy dom-a balloon=' yes no
expect 'fpbctl policy dom-a mode= ' balloon= floor= max-prep-seconds= mode= objective= reclaim= reclaim-cache-bound=

# ---- through readline: keys typed into an interactive bash in a
# pseudo-terminal (type-keys.py), a shell function fpbctl printing its line
# shown KEYS: KEYS with TAB and Ctrl-B (cursor left) named
shown() {
    local k=${1//$'\t'/<TAB>}
    echo "${k//$'\x02'/<C-b>}"
}
if command -v python3 >/dev/null; then
    typed=(
        $'fpbctl mi\t--json'
        $'fpbctl migrate --mo --json\x02\x02\x02\x02\x02\x02\x02\t'
        $'fpbctl migrate --mode=hint+b\t'
        $'fpbctl explain --connect qemu+ssh://a/system --migration-m\tpo\t'
        $'fpbctl evacuate --to qemu:///x dom-a \t'
        $'fpbctl policy dom-a ba\ty\t'
        "fpbctl history --db $work/d"$'\t'
    )
    wanted=(
        'migrate --json'
        'migrate --mode --json'
        'migrate --mode=hint+balloon'
        'explain --connect qemu+ssh://a/system --migration-method postcopy'
        'evacuate --to qemu:///x dom-a dom-b'
        'policy dom-a balloon=yes'
        "history --db $work/dir/"
    )
    got=$(timeout 120 python3 "$here/type-keys.py" "$completion" "${typed[@]}" 2>&1) || :
    for i in "${!typed[@]}"; do
        line=$(sed -n "$((i + 1))p" <<<"$got")
        if [ "$line" = "${wanted[i]}" ]; then
            ok "readline: '$(shown "${typed[i]}")' runs fpbctl ${wanted[i]}"
        else
            not_ok "readline: '$(shown "${typed[i]}")' runs fpbctl ${wanted[i]}"
            note "got: fpbctl $line"
        fi
    done
else
    skip "readline: needs python3 for a pseudo-terminal"
fi

# ---- the options offered against the real --help, both ways
# A context: the words before the option, then the --help command line.
contexts=(
    'explain|explain --qmp s.sock|explain'
    'explain|explain dom-a|explain dom-a'
    'migrate|migrate --qmp s.sock|migrate'
    'migrate|migrate dom-a dest|migrate dom-a dest'
    'evacuate|evacuate|evacuate'
    'history|history|history'
    'recover|recover|recover'
    'policy|policy|policy'
    'status|status|status'
    'enable-hints|enable-hints|enable-hints'
)
checked=''
for c in "${contexts[@]}"; do
    IFS='|' read -r cmd words helpargs <<<"$c"
    checked+=" $cmd"
    # shellcheck disable=SC2086 # the --help command line's words
    want=$(help_options $helpargs)
    # shellcheck disable=SC2086
    want_args=$(HELP_ARGS_ONLY=1 help_options $helpargs)
    got=$(complete_line "fpbctl $words --")
    if [ -n "$want" ] && [ "$got" = "$want" ]; then
        ok "'fpbctl $words --' offers the options of 'fpbctl $helpargs --help' ($(echo "$want" | wc -l))"
    else
        not_ok "'fpbctl $words --' offers the options of 'fpbctl $helpargs --help'"
        note "only offered: $(comm -23 <(echo "$got") <(echo "$want") | tr '\n' ' ')"
        note "only in --help: $(comm -13 <(echo "$got") <(echo "$want") | tr '\n' ' ')"
    fi
    # After an option that takes a value the value is completed; after a
    # flag, what comes at that place without it.
    slot=$(complete_line "fpbctl $words ")
    wrong=''
    for opt in $want; do
        after=$(complete_line "fpbctl $words $opt ")
        if grep -qxF -- "$opt" <<<"$want_args"; then
            [ "$after" != "$slot" ] || wrong+=" $opt (takes a value)"
        else
            [ "$after" = "$slot" ] || wrong+=" $opt (a flag)"
        fi
    done
    if [ -n "$slot" ] && [ -z "$wrong" ]; then
        ok "'fpbctl $words': every option's value completed, flags skipped"
    else
        not_ok "'fpbctl $words': every option's value completed, flags skipped"
        note "wrong:${wrong:- nothing at the place of the next argument}"
    fi
done
# Before a form shows, explain and migrate offer both forms' options.
for cmd in explain migrate; do
    [ "$cmd" = migrate ] && dest=dest || dest=
    # shellcheck disable=SC2086 # $dest: no word or one
    want=$({ help_options "$cmd"; help_options "$cmd" dom-a $dest; } | LC_ALL=C sort -u)
    got=$(complete_line "fpbctl $cmd --")
    if [ "$got" = "$want" ]; then
        ok "'fpbctl $cmd --' offers both forms' options"
    else
        not_ok "'fpbctl $cmd --' offers both forms' options"
        note "got: $(echo "$got" | tr '\n' ' ')"
    fi
done
# Every subcommand of fpbctl --help is checked above.
missing=''
for cmd in $commands; do
    [[ " $checked " == *" $cmd "* ]] || missing+=" $cmd"
done
if [ -z "$missing" ]; then
    ok "every subcommand's options are checked against its --help"
else
    not_ok "every subcommand's options are checked against its --help"
    note "not checked:$missing"
fi

if command -v shellcheck >/dev/null; then
    if shellcheck -s bash "$completion" >"$work/shellcheck.out" 2>&1; then
        ok "the completion is shellcheck-clean"
    else
        not_ok "the completion is shellcheck-clean"
        sed 's/^/# /' "$work/shellcheck.out"
    fi
else
    skip "shellcheck is not installed"
fi

echo "1..$n"
[ "$failed" = 0 ]
