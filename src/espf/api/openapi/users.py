"""API users of the caller's environment."""

from __future__ import annotations

from espf.api.openapi.kit import (
    answer,
    array,
    boolean,
    enum,
    obj,
    operation,
    post,
    ref,
    string,
)
from espf.api.users import MAX_LOGIN_LENGTH, MAX_PASSWORD_LENGTH
from espf.domain import Role

TAG = "users"
LOGIN = string(
    "Unique across environments; no ':' or spaces", MAX_LOGIN_LENGTH, examples=["billing"]
)
ROLE = enum(
    [r.value for r in Role],
    "admin: everything in its environment; producer: create events and read its own",
)
NO_USER = "No such user in the caller's environment."
PASSWORD = string(
    "At least 8 characters (fewer with allow_weak_password); stored as an Argon2id hash",
    MAX_PASSWORD_LENGTH,
)
ALLOW_WEAK = boolean(
    "Accept a password shorter than 8 characters, for an existing Application whose "
    "credentials cannot change; logged, and shown as weak_password. Default false"
)

PATHS = {
    "/espf/v1/user/create": post(
        operation(
            operation_id="user_create",
            tag=TAG,
            summary="Create an API user in the caller's environment",
            description=(
                "role defaults to producer, the least it can be. A password shorter than 8 "
                "characters is refused (400 weak_password) unless allow_weak_password is true."
            ),
            body=obj(
                {
                    "login": LOGIN,
                    "password": PASSWORD,
                    "role": ROLE,
                    "allow_weak_password": ALLOW_WEAK,
                },
                ("login", "password"),
            ),
            answer_schema=ref("User"),
            errors={409: "The login is taken (in any environment)."},
            example={"login": "billing", "password": "billing-password", "role": "producer"},
        )
    ),
    "/espf/v1/user/list": post(
        operation(
            operation_id="user_list",
            tag=TAG,
            summary="The API users of the caller's environment",
            description="Password hashes are never shown.",
            body=obj({}),
            body_required=False,
            answer_schema=answer({"users": array(ref("User"))}),
        )
    ),
    "/espf/v1/user/delete": post(
        operation(
            operation_id="user_delete",
            tag=TAG,
            summary="Delete an API user",
            description=(
                "Its events stay: they belong to the environment. Its credentials stop "
                "working at once in this process, and within credential_cache_ttl_s in others."
            ),
            body=obj({"login": LOGIN}, ("login",)),
            answer_schema=answer(
                {"login": string(), "deleted": {"type": "boolean", "const": True}}
            ),
            errors={404: NO_USER, 409: "It is the caller itself, or the last administrator."},
            example={"login": "retired"},
        )
    ),
    "/espf/v1/user/set_role": post(
        operation(
            operation_id="user_set_role",
            tag=TAG,
            summary="Change an API user's role",
            description="An environment always keeps an administrator.",
            body=obj({"login": LOGIN, "role": ROLE}, ("login", "role")),
            answer_schema=ref("User"),
            errors={
                404: NO_USER,
                409: "It is the caller itself, or the last administrator would go.",
            },
            example={"login": "billing", "role": "admin"},
        )
    ),
    "/espf/v1/user/set_password": post(
        operation(
            operation_id="user_set_password",
            tag=TAG,
            summary="Give an API user a new password",
            description=(
                "Every login session of the user ends, on every API node within "
                "session_check_ttl_s; Basic credentials cached by other nodes within "
                "credential_cache_ttl_s."
            ),
            body=obj(
                {"login": LOGIN, "password": PASSWORD, "allow_weak_password": ALLOW_WEAK},
                ("login", "password"),
            ),
            answer_schema=ref("User"),
            errors={404: NO_USER},
            example={"login": "username", "password": "secret", "allow_weak_password": True},
        )
    ),
}
