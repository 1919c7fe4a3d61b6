# framescope %postun: $1 is 0 on erase (1 on upgrade); the group goes with the package.
if [ "$1" = 0 ] && getent group framescope >/dev/null; then
    groupdel framescope || echo "framescope: could not delete the framescope group" >&2
fi
