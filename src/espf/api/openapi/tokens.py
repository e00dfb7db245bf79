"""API tokens of the caller's environment's users."""

from __future__ import annotations

from espf.api.openapi.kit import answer, array, integer, nullable, obj, operation, post, ref, string
from espf.api.openapi.users import LOGIN, NO_USER, TAG
from espf.service.sessions import MAX_TOKEN_NAME

NAME = string("What the token is for", MAX_TOKEN_NAME, examples=["billing sync"])
TOKEN_FIELDS = {
    "i_api_token": integer(),
    "login": string("The user it logs in as"),
    "name": string(),
    "created": string("UTC"),
    "last_used": nullable(string("UTC; null when never used")),
}

PATHS = {
    "/espf/v1/user/token_create": post(
        operation(
            operation_id="user_token_create",
            tag=TAG,
            summary="Make an API token for a user",
            description=(
                "The token logs in at POST /rest/Session/login with "
                '{"params": {"login", "token"}} instead of the password. It is in this '
                "answer only: espf keeps a SHA-256 of it."
            ),
            body=obj({"login": LOGIN, "name": NAME}, ("login", "name")),
            answer_schema=answer({**TOKEN_FIELDS, "token": string("The secret, shown once")}),
            errors={404: NO_USER},
            example={"login": "billing", "name": "billing sync"},
        )
    ),
    "/espf/v1/user/token_list": post(
        operation(
            operation_id="user_token_list",
            tag=TAG,
            summary="The API tokens of the environment's users, or of one",
            description="Never the secrets.",
            body=obj({"login": LOGIN}),
            body_required=False,
            answer_schema=answer({"tokens": array(ref("ApiToken"))}),
        )
    ),
    "/espf/v1/user/token_revoke": post(
        operation(
            operation_id="user_token_revoke",
            tag=TAG,
            summary="Delete an API token",
            description="The sessions it opened end, on every API node within session_check_ttl_s.",
            body=obj({"login": LOGIN, "i_api_token": integer()}, ("login", "i_api_token")),
            answer_schema=answer(
                {"i_api_token": integer(), "revoked": {"type": "boolean", "const": True}}
            ),
            errors={404: "The user has no such token (or does not exist here)."},
            example={"login": "billing", "i_api_token": 1},
        )
    ),
}

SCHEMAS = {"ApiToken": answer(TOKEN_FIELDS, "An API token; its secret is never shown")}
