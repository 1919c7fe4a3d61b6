# framescope %post (cargo-generate-rpm): the .deb postinst's capture rights, the RPM way.
getent group framescope >/dev/null || groupadd --system framescope
setcap cap_net_raw,cap_net_admin=eip /usr/bin/framescope ||
    echo "framescope: could not give /usr/bin/framescope its capture capabilities; live capture will need root" >&2
