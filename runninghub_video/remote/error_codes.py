"""Every RunningHub error code in one table: its meaning, the error class it raises, the short line
a node shows (English, Chinese), the advice that ends the English message (logs, CLI), and for a
code about the key itself, what Test key says.

The class is one that code catches or branches on (a key problem, a task that failed, a retryable
service problem, …); the line, not the class, says what the code means to a person. Lines may use
``{code}``, ``{site}`` and ``{task_id}``; Test key's also ``{other}`` (the other site) and ``{page}``
(where keys are made); advice ``{site}`` and ``{other}``. Errors without a code (bad input, set-up, network, budget) are worded per
class in ``words/wording.py``, which looks a code up here first.

Here, not in ``core/errors.py``: the exceptions know nothing of RunningHub's codes, so the model
table (which raises them) and this table do not import each other in a circle.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import facts
from ..core.errors import (ApiError, AuthError, KeyTypeError, RateLimitError, ServiceError, TaskFailedError,
                           TaskNotFoundError)


@dataclass(frozen=True)
class ErrorCode:
    meaning: str
    error: type[ApiError]
    line: tuple[str, str]  # (English, Chinese)
    advice: str
    key_line: tuple[str, str] | None = None  # what Test key says of this code (a code about the key itself)
    # The line when the node had an option that takes what was refused (RealPersonError: real_person);
    # wording fills {refs} (the references RunningHub named) and {charge} (what it said was charged).
    option_line: tuple[str, str] | None = None
    # A submit answer in the v2 shape (taskId "" and status "") with this code proves no task was made:
    # why, with its source. Any other answer to a submit is unknown and never re-sent (wire.py).
    no_task: str = ""
    resubmit: bool = False  # no task made, and the submit is sent again on its own (concurrency, rate)
    reupload: bool = False  # RunningHub could not read an uploaded reference (its URL lapsed): upload it again


# Lines several codes share.
SERVICE_LINE = ("RunningHub had a temporary problem ({code}); queue again in a minute",
            "RunningHub 暂时出错（{code}），请一分钟后重新运行")
_AGAIN = "A temporary server problem; try again in a minute."
_KEY_REJECTED_LINE = ("RunningHub rejected the .{site} key ({code}): check it in Settings → RunningHub (Test key); "
                      ".cn and .ai keys do not cross",
                      "RunningHub 拒绝了 .{site} 的密钥（{code}）：请在 设置 → RunningHub 中检查并点“测试密钥”；"
                      ".cn 与 .ai 的密钥不通用")
_KEY_REJECTED_ADVICE = "The pack used the .{site} site: if your key was made on runninghub.{other}, set site to '{other}'."
_KEY_REJECTED = ("The .{site} site does not accept this key ({code}). Copy it again from {page}; if it was made "
                 "on runninghub.{other}, save it under .{other} instead.",
                 ".{site} 站点不接受此密钥（{code}）。请从 {page} 重新复制；如果它是在 runninghub.{other} 上创建的，"
                 "请改存到 .{other}。")
_RATE = ("RunningHub is limiting requests ({code}); queue again in a minute", "RunningHub 正在限流（{code}），请一分钟后重新运行")
_REJECTED = ("RunningHub rejected the options ({code}): check prompt, references and options",
             "RunningHub 拒绝了参数（{code}）：请检查提示词、参考图和选项")
_TOO_LARGE = ("a reference is too large ({code}): at most 10 MB each image, 50 MB each video",
              "参考文件过大（{code}）：图片每张不超过 10 MB，视频每个不超过 50 MB")
_TOO_LARGE_ADVICE = "Each reference image must be at most 10 MB, each reference video 50 MB."
_BALANCE = ("balance too low ({code}): top up your RunningHub account", "余额不足（{code}）：请为 RunningHub 账户充值")
FAILED_LINE = ("task {task_id} failed ({code}): change variation and queue again to pay for a new try",
           "任务 {task_id} 失败（{code}）：如需重试，请修改“变体”（variation）后重新运行（会再次扣费）")
_MODERATION = ("refused by moderation ({code}), not charged: change the prompt or references",
               "内容审核未通过（{code}），未扣费：请修改提示词或参考图")

CODES: dict[str, ErrorCode] = {
    "1000": ErrorCode("unknown error", ServiceError, SERVICE_LINE, _AGAIN),
    "1001": ErrorCode("invalid URL or path", ApiError,
                      ("RunningHub does not know the address the pack called ({code}): check the site",
                       "RunningHub 不认识本插件调用的地址（{code}）：请检查站点设置"),
                      "The pack called an address RunningHub does not know; check RUNNINGHUB_BASE_URL / site.",
                      no_task="documented rejection [C]"),
    "1002": ErrorCode("invalid API key", AuthError, _KEY_REJECTED_LINE, _KEY_REJECTED_ADVICE, _KEY_REJECTED,
                      no_task="documented rejection [C]"),
    "1003": ErrorCode("rate limit exceeded", RateLimitError, _RATE, "Too many requests; the pack backs off and retries.",
                      no_task="rate limit: a rejection before creation by every client we know [S]", resubmit=True),
    "1004": ErrorCode("task not found or expired", TaskNotFoundError,
                      ("no such task on .{site}, or older than 24 h ({code}): check the id and the site",
                       ".{site} 上没有这个任务，或已超过 24 小时（{code}）：请检查任务 id 和站点"),
                      "The task id is unknown on this site or older than 24 hours; check the id and the site."),
    "1005": ErrorCode("internal error", ServiceError, SERVICE_LINE, _AGAIN),
    "1006": ErrorCode("task timed out", TaskFailedError, FAILED_LINE,
                      "The task timed out on RunningHub. Queue the node again to pay for a new try."),
    "1007": ErrorCode("invalid parameters", ApiError, _REJECTED,
                      "RunningHub rejected the request options; check prompt, images and options.",
                      no_task="documented rejection [C]"),
    "1008": ErrorCode("file too large", ApiError, _TOO_LARGE, _TOO_LARGE_ADVICE,
                      no_task="documented rejection [C]"),
    "1010": ErrorCode("service unavailable", ServiceError, SERVICE_LINE, "RunningHub is unavailable; try again later."),
    "1011": ErrorCode("service busy", ServiceError, SERVICE_LINE, "RunningHub is busy; the pack backs off and retries."),
    "1012": ErrorCode("upstream error", ServiceError, SERVICE_LINE, "The model provider had a problem; try again later."),
    "1013": ErrorCode("file processing failed", ApiError,
                      ("RunningHub could not read a reference ({code}); queue again to upload it anew",
                       "RunningHub 无法读取参考文件（{code}），请重新运行以重新上传"),
                      "RunningHub could not read an uploaded reference; queue again to re-upload it.",
                      no_task="a reference could not be processed [S]", reupload=True),
    "1014": ErrorCode("API key is not Enterprise-Shared", KeyTypeError,
                      ("this key cannot run Seedance ({code}): create an Enterprise-Shared key in the API console "
                       "and save it in Settings → RunningHub",
                       "此密钥不能调用 Seedance（{code}）：请在 API 控制台创建企业共享（Enterprise-Shared）密钥，"
                       "再填入 设置 → RunningHub"),
                      "Standard models need an Enterprise-Shared API key. Create one in the API console of your site "
                      "and use it instead.",
                      ("This key cannot run Seedance ({code}): it must be an Enterprise-Shared key. Create one at "
                       "{page} and save it here.",
                       "此密钥不能调用 Seedance（{code}）：需要企业共享（Enterprise-Shared）密钥。请在 {page} 创建后保存到这里。"),
                      no_task="documented rejection [C]"),
    "1015": ErrorCode("generation failed", TaskFailedError, FAILED_LINE,
                      "The model failed to generate this video. Queue again to pay for a new try, perhaps with other "
                      "references or prompt."),
    "1501": ErrorCode("content moderation failed", TaskFailedError, _MODERATION,
                      "The prompt or a reference was refused by moderation (not charged). Change them."),
    "1504": ErrorCode("model timed out", TaskFailedError, FAILED_LINE,
                      "The model timed out. Queue the node again to pay for a new try."),
    "1505": ErrorCode("photorealistic real people are prohibited", TaskFailedError,
                      ("a reference shows a photorealistic real person ({code}): this model cannot take it as sent; "
                       "use other references",
                       "参考中有写实真人（{code}）：此模型无法按现在的方式接受；请换用其他参考"),
                      "A reference shows a photorealistic real person. Seedance 2.x takes such references when "
                      "real_person (on the node) or --real-person (in the CLI) is on; other models have no way to "
                      "take them: use other references.",
                      option_line=("RunningHub refused a real person in {refs} ({code}){charge}: turn on real_person "
                                   "on this node (the references become assets on your RunningHub account)",
                                   "RunningHub 拒绝了{refs}中的真人（{code}）{charge}：请打开此节点的“真人参考”（real_person）"
                                   "（参考会转换为你 RunningHub 账户中的素材）")),
    # legacy codes
    "401": ErrorCode("API key verification failed", AuthError, _KEY_REJECTED_LINE, _KEY_REJECTED_ADVICE,
                     _KEY_REJECTED),
    "414": ErrorCode("not enough credit", ApiError, _BALANCE, "Top up your RunningHub account.",
                     no_task="not enough credit at task creation [S]"),
    "416": ErrorCode("balance insufficient", ApiError, _BALANCE, "Top up your RunningHub account."),
    "421": ErrorCode("task queue full (concurrency limit)", RateLimitError,
                     ("your account runs its most tasks at once ({code}); queue again when one has finished",
                      "账户同时运行的任务已达上限（{code}），请等一个任务完成后重新运行"),
                     "Your account is running its maximum number of tasks; the pack waits and retries.",
                     no_task="concurrency limit: a rejection before creation by every client we know [S]", resubmit=True),
    # 802's meaning is undocumented [U]: worded as a key the site does not accept (as 1002 is)
    "802": ErrorCode("API key not accepted", AuthError, _KEY_REJECTED_LINE, _KEY_REJECTED_ADVICE, _KEY_REJECTED),
    # APIKEY_USER_NOT_FOUND: typically a key of the other site [S]
    "806": ErrorCode("no account has this API key", AuthError,
                     ("no .{site} account has this key ({code}): it is probably a key of the other site; check it "
                      "in Settings → RunningHub",
                      ".{site} 上没有使用此密钥的账户（{code}）：它可能是另一站点的密钥；请在 设置 → RunningHub 中检查"),
                     "No .{site} account has this key: it is probably a key of runninghub.{other}; if so, set site "
                     "to '{other}'.",
                     ("No .{site} account has this key ({code}): it is probably a key of runninghub.{other}. Save it "
                      "under .{other}, or create a .{site} key at {page}.",
                      ".{site} 上没有使用此密钥的账户（{code}）：它可能是 runninghub.{other} 的密钥。请改存到 .{other}，"
                      "或在 {page} 创建 .{site} 的密钥。"),
                     no_task="key refusal [S]"),
    "809": ErrorCode("file too large", ApiError, _TOO_LARGE, _TOO_LARGE_ADVICE),
    "812": ErrorCode("balance insufficient", ApiError, _BALANCE, "Top up your RunningHub account.",
                     no_task="balance refusal [S]"),
}


NO_TASK_CODES = frozenset(code for code, row in CODES.items() if row.no_task)
RESUBMIT_CODES = frozenset(code for code, row in CODES.items() if row.resubmit)
REUPLOAD_CODES = frozenset(code for code, row in CODES.items() if row.reupload)


def error_for_code(code: str | int, server_message: str = "", *, site: str, task_id: str = "",
                   context: str = "") -> ApiError:
    """The typed exception for a RunningHub error code, with its meaning and advice (naming ``site``,
    the site that was called, and the other one where the advice is about the key)."""
    code = str(code)
    info = CODES.get(code)
    if info is None:
        return ServiceError(f"{context}RunningHub error {code}.", code=code, task_id=task_id,
                            server_message=server_message,
                            advice="This code is not documented; if it persists, report it with the task id.")
    other = next((s for s in facts.SITES if s != site), site)
    return info.error(f"{context}RunningHub error {code} ({info.meaning}).", code=code,
                      advice=info.advice.format(site=site, other=other), task_id=task_id, server_message=server_message)
