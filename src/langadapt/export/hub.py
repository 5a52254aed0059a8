"""Upload an export folder to the Hugging Face Hub and tag it with its change-log version.

    push("runs/demo/export/model", "me/demo-zh-tw", version="2025.01.31")

Users pick a version with `--revision v2025.01.31`, as the seed cards describe.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from langadapt.errors import UserError


class HubError(UserError):
    """The upload could not be done; the message says why."""


def _offline() -> bool:
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def push(folder: str | Path, repo_id: str, version: str | None = None, private: bool = False,
         token: str | None = None, log: Any = print) -> str:
    """Create the repo if needed, upload the folder as one commit, tag it `v<version>`; return the commit URL."""
    if repo_id.count("/") != 1 or " " in repo_id:
        raise HubError(f"--push-to-hub {repo_id}: expected a repository id like owner/name")
    if _offline():
        raise HubError(f"cannot push to {repo_id}: this machine is offline (HF_HUB_OFFLINE is set). "
                       f"The export is complete in {folder}; upload it from a machine with network access, "
                       f"e.g. `hf upload {repo_id} {folder}`.")
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        log(f"uploading {folder} to {repo_id}")
        info = api.upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message=f"langadapt export v{version}"
                                 if version else "langadapt export")
        if version:
            api.create_tag(repo_id, tag=f"v{version}", revision=info.oid, exist_ok=True)
    except HfHubHTTPError as exc:
        raise HubError(f"push to {repo_id} failed: {str(exc).splitlines()[0]} (log in with `hf auth login` or set HF_TOKEN)") from None
    except OSError as exc:  # DNS, refused connections, proxies
        raise HubError(f"push to {repo_id} failed: no connection ({type(exc).__name__}: {exc}). "
                       f"The export is complete in {folder}.") from None
    return str(info.commit_url)
