#!/bin/bash
# ICMP reachability policy end to end against wireguard-go (needs root, ip netns, wireguard-go, wg, ping, curl).
# ns A: wireguard-go 10.50.0.2 -> wgts netstack (ns B, 10.50.0.1) <- ns C: wireguard-go 10.50.0.3.
# Expect: 10.50.0.1 answered; 10.50.0.3 100% loss until C handshakes, then answered; 10.50.0.9 100% loss;
# and the status page counters equal what ping saw. Run from the repo root after `npx tsc -p .`.
set -u
S=h7$RANDOM
NA=${S}a; NB=${S}b; NC=${S}c; GO_PIDS=
cleanup() {
  [ -n "${WGTS_PID:-}" ] && kill $WGTS_PID 2>/dev/null
  for p in ${GO_PIDS:-}; do kill $p 2>/dev/null; done
  sleep 0.5
  for p in ${GO_PIDS:-}; do kill -9 $p 2>/dev/null; done
  ip netns del $NA 2>/dev/null; ip netns del $NB 2>/dev/null; ip netns del $NC 2>/dev/null
  rm -f /var/run/wireguard/wg$S.sock /var/run/wireguard/wc$S.sock
  rm -rf /tmp/$S
}
trap cleanup EXIT
mkdir -p /tmp/$S
ip netns add $NA; ip netns add $NB; ip netns add $NC
ip link add ${S}va type veth peer name ${S}vb
ip link set ${S}va netns $NA; ip link set ${S}vb netns $NB
ip -n $NA addr add 192.168.77.1/24 dev ${S}va; ip -n $NA link set ${S}va up; ip -n $NA link set lo up
ip -n $NB addr add 192.168.77.2/24 dev ${S}vb; ip -n $NB link set ${S}vb up; ip -n $NB link set lo up
ip link add ${S}vc type veth peer name ${S}vd
ip link set ${S}vc netns $NC; ip link set ${S}vd netns $NB
ip -n $NC addr add 192.168.78.1/24 dev ${S}vc; ip -n $NC link set ${S}vc up; ip -n $NC link set lo up
ip -n $NB addr add 192.168.78.2/24 dev ${S}vd; ip -n $NB link set ${S}vd up
KA=$(wg genkey); KB=$(wg genkey); KC=$(wg genkey)
PA=$(echo $KA | wg pubkey); PB=$(echo $KB | wg pubkey); PC=$(echo $KC | wg pubkey)
# wireguard-go side
ip netns exec $NA env WG_PROCESS_FOREGROUND=1 wireguard-go wg$S > /tmp/$S/wggo.log 2>&1 &
GO_PIDS="$GO_PIDS $!"
ip netns exec $NC env WG_PROCESS_FOREGROUND=1 wireguard-go wc$S > /tmp/$S/wggoc.log 2>&1 &
GO_PIDS="$GO_PIDS $!"
sleep 1
echo "$KC" > /tmp/$S/kc
ip netns exec $NC wg set wc$S private-key /tmp/$S/kc peer $PB endpoint 192.168.78.2:51820 allowed-ips 10.50.0.0/24
ip -n $NC addr add 10.50.0.3/24 dev wc$S; ip -n $NC link set wc$S up
echo "$KA" > /tmp/$S/ka
ip netns exec $NA wg set wg$S private-key /tmp/$S/ka peer $PB endpoint 192.168.77.2:51820 allowed-ips 10.50.0.0/24
ip -n $NA addr add 10.50.0.2/24 dev wg$S; ip -n $NA link set wg$S up
# wgts side: peer A = 10.50.0.2/32 ; peer C (never connects) = 10.50.0.3/32
cat > /tmp/$S/ws$S.conf <<CONF
[Interface]
PrivateKey = $KB
ListenPort = 51820
Address = 10.50.0.1/24

[Peer]
PublicKey = $PA
AllowedIPs = 10.50.0.2/32

[Peer]
PublicKey = $PC
AllowedIPs = 10.50.0.3/32

[Netstack]
Status = 10.50.0.1:80
CONF
chmod 600 /tmp/$S/ws$S.conf
ip netns exec $NB node bin/wgts up /tmp/$S/ws$S.conf > /tmp/$S/wgts.log 2>&1 &
WGTS_PID=$!
sleep 2
for dst in 10.50.0.1 10.50.0.3 10.50.0.9; do
  echo "ping $dst: $(ip netns exec $NA ping -c 3 -i 0.3 -W 1 $dst 2>&1 | grep -E 'packets transmitted')"
done
echo "-- peer C handshakes with wgts:"
ip netns exec $NC ping -c 1 -W 2 10.50.0.1 | grep -E 'packets transmitted'
for dst in 10.50.0.3; do
  echo "ping $dst: $(ip netns exec $NA ping -c 3 -i 0.3 -W 1 $dst 2>&1 | grep -E 'packets transmitted')"
done
ip netns exec $NA curl -s --max-time 5 http://10.50.0.1/status.json | python3 -c "import json,sys; d=json.load(sys.stdin); print(json.dumps(d['stats']['icmp'])); print([ (p['publicKey'][:8], p['up']) for p in d['peers']])"
ip netns exec $NA wg show wg$S | grep -E "handshake|transfer"
cat /tmp/$S/wgts.log
