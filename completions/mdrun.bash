# mdrun.bash - bash completion for mdrun(1).                -*- shell-script -*-
#
# make install puts it in bash-completion's directory as "mdrun", where
# bash-completion finds it on the first <Tab> after mdrun; without
# bash-completion, `source` it from ~/.bashrc.  It completes the commands,
# the global options before the command, each command's options and their
# fixed values, file names where an option takes a path, signal names for
# kill, and the ids of existing containers (`mdrun list -q`, in the state
# root given with --root) where a command takes one.  Options are those
# of src/main.c and src/cmd-*.c.

_mdrun_commands="check create delete events exec features kill list pause ps resume run spec
    start state update validate"

_mdrun_globals="--root --log --log-format --log-level --debug --cgroup-manager --systemd-cgroup
    --rootless --version --help"

# The options of command $1, as its --help lists them.
_mdrun_command_options()
{
    local create="--bundle --console-socket --pid-file --preserve-fds --no-pivot --no-new-keyring
        --net --publish --help"
    case $1 in
    check) echo "--format --help" ;;
    create) echo "$create" ;;
    run) echo "$create --detach" ;;
    delete) echo "--force --help" ;;
    events) echo "--stats --interval --help" ;;
    exec)
        echo "--process --tty --console-socket --detach --pid-file --preserve-fds --env --cwd
            --user --additional-gids --cap --no-new-privs --apparmor --process-label --help"
        ;;
    kill) echo "--all --help" ;;
    list) echo "--quiet --format --help" ;;
    ps) echo "--format --help" ;;
    spec) echo "--bundle --rootless --help" ;;
    update)
        echo "--resources --memory --memory-reservation --memory-swap --kernel-memory
            --kernel-memory-tcp --cpu-shares --cpu-quota --cpu-period --cpu-rt-runtime
            --cpu-rt-period --cpuset-cpus --cpuset-mems --pids-limit --blkio-weight --help"
        ;;
    validate) echo "--bundle --help" ;;
    *) echo "--help" ;;
    esac
}

# Whether option $2 of command $1 ("" for the global ones) takes a value.
_mdrun_takes_value()
{
    case $1:$2 in
    :--root | :--log | :--log-format | :--log-level | :--cgroup-manager | :--rootless) return 0 ;;
    check:-f | check:--format | list:-f | list:--format | ps:-f | ps:--format) return 0 ;;
    create:* | run:*)
        case $2 in
        -b | --bundle | --console-socket | --pid-file | --preserve-fds | --net | -p | --publish)
            return 0
            ;;
        esac
        ;;
    events:--interval | spec:-b | spec:--bundle | validate:-b | validate:--bundle) return 0 ;;
    exec:*)
        case $2 in
        -p | --process | --console-socket | --pid-file | --preserve-fds | -e | --env | --cwd | \
            -u | --user | -g | --additional-gids | -c | --cap | --apparmor | --process-label)
            return 0
            ;;
        esac
        ;;
    update:--* | update:-r) [[ $2 != --help ]] && return 0 ;;
    esac
    return 1
}

# Fill COMPREPLY with the values of option $2 of command $1 matching $3.
_mdrun_option_values()
{
    local words=""
    case $1:$2 in
    :--log-format) words="text json" ;;
    :--log-level) words="error warning info debug" ;;
    :--cgroup-manager) words="cgroupfs systemd disabled" ;;
    :--rootless) words="true false auto" ;;
    check:*) words="text json" ;;
    list:* | ps:*) words="table json" ;;
    *:--net) words="slirp4netns none" ;;
    :--root | *:-b | *:--bundle)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$3")
        return
        ;;
    :--log | *:--pid-file | *:--console-socket | *:-p | *:--process | *:-r | *:--resources)
        [[ $1:$2 == create:-p || $1:$2 == run:-p ]] && return # --publish
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$3")
        return
        ;;
    *:-c | *:--cap)
        words="CAP_AUDIT_WRITE CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER CAP_FSETID CAP_KILL
            CAP_MKNOD CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_SETFCAP CAP_SETGID
            CAP_SETPCAP CAP_SETUID CAP_SYS_ADMIN CAP_SYS_CHROOT CAP_SYS_PTRACE CAP_SYS_TIME"
        ;;
    esac
    # shellcheck disable=SC2207 # words never hold blanks or globs
    [[ -n $words ]] && COMPREPLY=($(compgen -W "$words" -- "$3"))
}

# The ids of the containers in the state root (the --root given on the
# command line, if any), from the mdrun being completed.
_mdrun_ids()
{
    local mdrun=$1 root=$2 cur=$3
    [[ $mdrun == */* && -x $mdrun ]] || mdrun=mdrun
    local ids
    ids=$("$mdrun" ${root:+--root "$root"} list -q 2>/dev/null) || return
    # shellcheck disable=SC2207 # container ids never hold blanks or globs
    COMPREPLY=($(compgen -W "$ids" -- "$cur"))
}

_mdrun()
{
    COMPREPLY=()
    local cur=${COMP_WORDS[COMP_CWORD]} prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    local i word opt="" cmd="" root="" npos=0 skip=false
    # Walk the words before the cursor: the global options, the command,
    # its options and how many arguments it has had.
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        [[ $word == "=" ]] && continue # COMP_WORDBREAKS split --opt=value
        if $skip; then
            skip=false
            [[ -z $cmd && $opt == --root ]] && root=$word
            continue
        fi
        if [[ $word == --*=* ]]; then
            [[ -z $cmd && $word == --root=* ]] && root=${word#--root=}
        elif [[ $word == -* ]]; then
            opt=$word
            _mdrun_takes_value "$cmd" "$word" && skip=true
        elif [[ -z $cmd ]]; then
            cmd=$word
        else
            npos=$((npos + 1))
        fi
    done

    # A value of the option before the cursor (--opt VALUE, --opt=VALUE).
    if $skip; then
        [[ $prev == "=" ]] && prev=${COMP_WORDS[COMP_CWORD - 2]}
        _mdrun_option_values "$cmd" "$prev" "$cur"
        return
    fi
    if [[ $cur == --*=* ]]; then
        _mdrun_option_values "$cmd" "${cur%%=*}" "${cur#*=}"
        return
    fi
    if [[ -z $cmd ]]; then
        local words=$_mdrun_commands
        [[ $cur == -* ]] && words=$_mdrun_globals
        # shellcheck disable=SC2207
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
        return
    fi
    if [[ $cur == -* ]]; then
        # shellcheck disable=SC2207
        COMPREPLY=($(compgen -W "$(_mdrun_command_options "$cmd")" -- "$cur"))
        return
    fi
    case $cmd:$npos in
    delete:* | pause:* | resume:* | start:* | state:* | update:0 | events:0 | exec:0 | kill:0 | \
        ps:0)
        _mdrun_ids "${COMP_WORDS[0]}" "$root" "$cur"
        ;;
    kill:1)
        # shellcheck disable=SC2207
        COMPREPLY=($(compgen -W "$(compgen -A signal)" -- "$cur"))
        ;;
    esac
}

complete -F _mdrun mdrun
