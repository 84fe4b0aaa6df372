"""Tunnel control plane: list / get / update metadata / sign-csr, and the /_emulator controls."""

from __future__ import annotations

import ipaddress

import httpx2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from inkbox_emulator import Emulator
from inkbox_emulator.tunnels.test_ca import TunnelCA

from .conftest import as_key, scoped_key, wait_until
from .tunnel_agent_support import AgentPool, new_tunnel

TUNNEL_KEYS = {
    "id",
    "organization_id",
    "tunnel_name",
    "tls_mode",
    "cert_pem",
    "cert_fingerprint_sha256",
    "cert_expires_at",
    "status",
    "last_connected_at",
    "last_connected_ip_addr",
    "last_disconnected_at",
    "agent_identity_id",
    "currently_connected",
    "public_host",
    "zone",
    "metadata",
    "created_at",
    "updated_at",
}


def _csr(host: str, *, cn: str | None = None, san: str | None = None) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn or host)])
    )
    if san is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def test_list_get_shapes_and_visibility(admin: httpx2.Client) -> None:
    first = new_tunnel(admin, "ctl-a")
    second = new_tunnel(admin, "ctl-b", "passthrough")
    listed = admin.get("/api/v1/tunnels/")
    assert listed.status_code == 200
    tunnels = listed.json()["tunnels"]
    assert [t["id"] for t in tunnels] == [first["id"], second["id"]]
    assert all(set(t) == TUNNEL_KEYS for t in tunnels)
    got = admin.get(f"/api/v1/tunnels/{second['id']}").json()
    assert got["tls_mode"] == "passthrough"
    assert got["status"] == "awaiting_cert"
    assert got["public_host"] == f"{second['tunnel_name']}.inkboxwire.com"
    assert got["currently_connected"] is False

    key = scoped_key(admin, first["identity_id"])
    own = admin.get("/api/v1/tunnels/", **as_key(admin, key)).json()["tunnels"]
    assert [t["id"] for t in own] == [first["id"]]
    hidden = admin.get(f"/api/v1/tunnels/{second['id']}", **as_key(admin, key))
    assert hidden.status_code == 404
    assert hidden.json() == {"detail": "Tunnel not found"}
    assert admin.get(f"/api/v1/tunnels/{first['id']}", **as_key(admin, key)).status_code == 200

    missing = admin.get("/api/v1/tunnels/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert admin.get("/api/v1/tunnels/not-a-uuid").status_code == 422
    assert admin.get("/api/v1/tunnels/", headers={"X-API-Key": "bad"}).status_code == 401


def test_deleted_tunnels_disappear(admin: httpx2.Client) -> None:
    tunnel = new_tunnel(admin, "ctl-del")
    assert admin.delete(f"/api/v1/identities/{tunnel['tunnel_name']}").status_code == 204
    assert admin.get("/api/v1/tunnels/").json() == {"tunnels": []}
    assert admin.get(f"/api/v1/tunnels/{tunnel['id']}").status_code == 404


def test_update_metadata(admin: httpx2.Client) -> None:
    tunnel = new_tunnel(admin, "ctl-meta")
    url = f"/api/v1/tunnels/{tunnel['id']}"
    updated = admin.patch(url, json={"metadata": {"team": "ops", "n": 1}})
    assert updated.status_code == 200
    assert updated.json()["metadata"] == {"team": "ops", "n": 1}
    assert admin.patch(url, json={}).json()["metadata"] == {"team": "ops", "n": 1}
    assert admin.get(url).json()["metadata"] == {"team": "ops", "n": 1}
    assert admin.patch(url, json={"metadata": None}).json()["metadata"] == {}
    admin.patch(url, json={"metadata": {"x": True}})
    assert admin.patch(url, json={"metadata": {}}).json()["metadata"] == {}
    bad = admin.patch(url, json={"metadata": ["not", "an", "object"]})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "metadata"]


def test_sign_csr(admin: httpx2.Client, emu: Emulator) -> None:
    edge = new_tunnel(admin, "ctl-edge")
    refused = admin.post(
        f"/api/v1/tunnels/{edge['id']}/sign-csr", json={"csr_pem": _csr(edge["public_host"])}
    )
    assert refused.status_code == 409
    assert "tls_mode" in refused.json()["detail"]

    tunnel = new_tunnel(admin, "ctl-pt", "passthrough")
    url = f"/api/v1/tunnels/{tunnel['id']}/sign-csr"
    host = tunnel["public_host"]
    assert admin.post(url, json={"csr_pem": "garbage"}).status_code == 422
    assert admin.post(url, json={"csr_pem": _csr("other.example.com")}).status_code == 422
    assert admin.post(url, json={}).status_code == 422
    assert admin.get(f"/api/v1/tunnels/{tunnel['id']}").json()["status"] == "awaiting_cert"

    signed = admin.post(url, json={"csr_pem": _csr(host, cn="someone-else", san=host)})
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert set(body) == {"cert_pem", "chain_pem", "cert_fingerprint_sha256", "cert_expires_at"}
    assert body["chain_pem"] == emu.tunnel_ca_pem.decode()
    cert = x509.load_pem_x509_certificate(body["cert_pem"].encode())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [host]
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert 89 <= lifetime.days <= 90
    assert cert.fingerprint(hashes.SHA256()).hex() == body["cert_fingerprint_sha256"]
    ca = x509.load_pem_x509_certificate(emu.tunnel_ca_pem)
    cert.verify_directly_issued_by(ca)

    after = admin.get(f"/api/v1/tunnels/{tunnel['id']}").json()
    assert after["status"] == "active"
    assert after["cert_pem"] == body["cert_pem"]
    assert after["cert_fingerprint_sha256"] == body["cert_fingerprint_sha256"]
    assert after["cert_expires_at"] == body["cert_expires_at"]


def test_edge_certificate_and_ca_file(emu: Emulator) -> None:
    with open(emu.tunnel_ca_file, "rb") as handle:
        assert handle.read() == emu.tunnel_ca_pem
    assert emu.tunnel_zone == "inkboxwire.com"
    assert emu.tunnel_edge.startswith("127.0.0.1:")
    assert emu.tunnel_public_url.startswith("http://127.0.0.1:")


def test_edge_certificate_names() -> None:
    ca = TunnelCA("wire.test")
    try:
        cert = x509.load_pem_x509_certificate(
            ca._edge_cert.public_bytes(serialization.Encoding.PEM)
        )
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == [
            "wire.test",
            "*.wire.test",
            "localhost",
            "*.localhost",
        ]
        assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    finally:
        ca.close()


def test_currently_connected_and_last_connection(
    admin: httpx2.Client, agents: AgentPool, emu: Emulator
) -> None:
    tunnel = new_tunnel(admin, "ctl-live")
    agent = agents(tunnel["id"]).connect()
    emu.wait_for_tunnel(tunnel["tunnel_name"])
    got = admin.get(f"/api/v1/tunnels/{tunnel['id']}").json()
    assert got["currently_connected"] is True
    assert got["last_connected_ip_addr"] == "127.0.0.1"
    assert got["last_connected_at"] is not None
    listed = admin.get("/api/v1/tunnels/").json()["tunnels"]
    assert listed[0]["currently_connected"] is True
    agent.close()

    def disconnected() -> bool:
        return admin.get(f"/api/v1/tunnels/{tunnel['id']}").json()["currently_connected"] is False

    wait_until(disconnected)


def test_control_api(http: httpx2.Client, admin: httpx2.Client, agents: AgentPool) -> None:
    info = http.get("/_emulator/tunnel-edge").json()
    assert set(info) == {"edge", "public_url", "zone", "ca_file", "ca_pem"}
    assert info["zone"] == "inkboxwire.com"

    tunnel = new_tunnel(admin, "ctl-api")
    name = tunnel["tunnel_name"]
    assert http.get("/_emulator/tunnels/nobody-here/connections").status_code == 404
    assert http.post(f"/_emulator/tunnels/{name}/wait", json={"timeout": 0.05}).status_code == 408
    agents(tunnel["id"]).connect(pool_size=3)
    assert http.post(f"/_emulator/tunnels/{name}/wait", json={"timeout": 5}).status_code == 200
    conns = http.get(f"/_emulator/tunnels/{name}/connections").json()
    assert len(conns) == 1
    assert conns[0]["pool_size"] == 3
    assert conns[0]["hello_count"] == 1

    created = http.post(
        "/_emulator/tunnel-faults", json={"kind": "slow_response", "name": name, "delay": 0.5}
    )
    assert created.status_code == 201
    assert created.json()["params"] == {"delay": 0.5}
    assert [f["kind"] for f in http.get("/_emulator/tunnel-faults").json()] == ["slow_response"]
    assert http.post("/_emulator/tunnel-faults", json={"kind": "nope"}).status_code == 422
    assert (
        http.post("/_emulator/tunnel-faults", json={"kind": "hello_status", "x": 1}).status_code
        == 422
    )
    assert http.delete("/_emulator/tunnel-faults").status_code == 204
    assert http.get("/_emulator/tunnel-faults").json() == []

    drained = http.post(f"/_emulator/tunnels/{name}/drain")
    assert drained.json() == {"drained": 1}
    assert http.get(f"/_emulator/tunnels/{name}/connections").json()[0]["draining"] is True
    assert http.get("/_emulator/tunnel-bodies/unknown").status_code == 404
