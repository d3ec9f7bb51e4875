"""An emulator that checks logins like Snowflake does. fakesnow's login handler accepts any credentials, so this
ASGI middleware (test side only) verifies the password, the key-pair JWT against the user's public key, or the
token, before handing the request to fakesnow; it records what each login sent."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Optional

LOGIN_PATH = "/session/v1/login-request"
# what Snowflake answers to a refused login, per authenticator
_REFUSALS = {
    "SNOWFLAKE": ("390100", "Incorrect username or password was specified."),
    "SNOWFLAKE_JWT": ("390144", "JWT token is invalid."),
    "PROGRAMMATIC_ACCESS_TOKEN": ("390303", "Invalid OAuth access token."),
    "OAUTH": ("390303", "Invalid OAuth access token."),
}


@dataclass
class Login:
    """What one login request carried and whether it passed."""

    authenticator: str
    user: str
    ok: bool
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass
class Accounts:
    """The credentials the emulated account accepts for its one user (None: that method is refused)."""

    user: str = "READER"
    password: Optional[str] = None
    public_key: Any = None  # a cryptography public key; its fingerprint goes in the JWT issuer
    pat: Optional[str] = None
    oauth: Optional[str] = None
    logins: list[Login] = field(default_factory=list)

    def check(self, data: dict[str, Any]) -> Login:
        auth = (data.get("AUTHENTICATOR") or "SNOWFLAKE").upper()
        user = str(data.get("LOGIN_NAME", "")).upper()
        login = Login(auth, user, False)
        if user != self.user:
            return login
        if auth == "SNOWFLAKE":
            login.ok = self.password is not None and data.get("PASSWORD") == self.password
        elif auth == "SNOWFLAKE_JWT":
            login.ok, login.claims = self._check_jwt(str(data.get("ACCOUNT_NAME", "")).upper(), data.get("TOKEN"))
        elif auth == "PROGRAMMATIC_ACCESS_TOKEN":
            login.ok = self.pat is not None and data.get("TOKEN") == self.pat
        elif auth == "OAUTH":
            login.ok = self.oauth is not None and data.get("TOKEN") == self.oauth
        return login

    def _check_jwt(self, account: str, token: Any) -> tuple[bool, dict[str, Any]]:
        import jwt
        from cryptography.hazmat.primitives import serialization

        if self.public_key is None or not token:
            return False, {}
        try:
            claims = jwt.decode(token, self.public_key, algorithms=["RS256"])
        except jwt.PyJWTError:
            return False, {}
        der = self.public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()
        # Snowflake's rule: iss = ACCOUNT.USER.SHA256:<fingerprint of the registered public key>, sub = ACCOUNT.USER
        ok = claims.get("iss") == f"{account}.{self.user}.{fingerprint}" and claims.get("sub") == f"{account}.{self.user}"
        return ok, claims

    def middleware(self, app: Any) -> Any:
        """Wrap fakesnow's ASGI app: a refused login gets Snowflake's answer and never reaches fakesnow."""

        async def checked(scope: dict, receive: Any, send: Any) -> None:
            if scope["type"] != "http" or scope["path"] != LOGIN_PATH:
                await app(scope, receive, send)
                return
            chunks, more = [], True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            raw = b"".join(chunks)
            headers = dict(scope["headers"])
            body = gzip.decompress(raw) if headers.get(b"content-encoding") == b"gzip" else raw
            login = self.check(json.loads(body)["data"])
            self.logins.append(login)
            if not login.ok:
                code, text = _REFUSALS.get(login.authenticator, _REFUSALS["SNOWFLAKE"])
                answer = json.dumps({"data": None, "code": code, "success": False, "message": text}).encode()
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": answer})
                return
            sent = False

            async def replay() -> dict:
                nonlocal sent
                if sent:
                    return await receive()
                sent = True
                return {"type": "http.request", "body": raw, "more_body": False}

            await app(scope, replay, send)

        return checked
