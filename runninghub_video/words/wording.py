"""Every status line the pack shows a person, in English and Chinese side by side.

The client reports a run as data (:class:`~.events.ProgressEvent`: phase, state, times, sizes,
price, a note key); this module alone turns that data, and the node's own moments (start, done,
cancelled, failed), into words. The nodes speak the language of the browser that queued the
prompt; the CLI, the demo and the logs speak English. Each line is an ``(English, Chinese)`` pair
so a change to one wording is made next to the other.

Exception texts (``str(exc)``: what happened plus advice, for logs and the CLI) stay with the
errors; the advice ending them is a RunningHub code's (remote/error_codes.py), the run's own
situations' (:data:`ADVICE` here), or, below this layer (core, remote, media, ledger: they cannot
import it), written where the error is raised. The short line a node shows for an error is its
code's (remote/error_codes.py, one table for every RunningHub code), else the line of a code of
the pack's own or of its class (:data:`ERRORS` here). A code of the pack's own comes with the
error's ``details`` (figures, names), so the Chinese line can say what the English message says;
for an input problem the English line is the message itself. The RunningHub tab words a journal
row's reason the same way (:func:`row_reason`).
"""
from __future__ import annotations

import re
import time
from typing import Any, Mapping, Sequence

from ..core import errors
from ..remote import error_codes, facts, models
from ..core.events import ProgressEvent
from ..core.money import Money, format_money

EN, ZH = "en", "zh"  # every pair below is (English, Chinese)
SEP = " · "

# RunningHub's task states on the waiting line; one this pack does not know is shown as sent.
STATES: dict[str, tuple[str, str]] = {
    "SUBMITTED": ("SUBMITTED", "已提交"),  # the submit answered, no state seen yet
    "CREATE": ("CREATE", "已创建"),
    "QUEUED": ("QUEUED", "排队中"),
    "RUNNING": ("RUNNING", "运行中"),
    "SUCCESS": ("SUCCESS", "已完成"),
    "FAILED": ("FAILED", "失败"),
    "CANCEL": ("CANCEL", "已取消"),
}

LINES: dict[str, tuple[str, str]] = {
    # the waiting line, once a second: "RUNNING · 0:41 elapsed · 0:12 in queue · ~0:19 left · ≈0.75 CNY"
    "elapsed": ("{t} elapsed", "已用 {t}"),
    "in_queue": ("{t} in queue", "排队 {t}"),
    "left": ("~{t} left", "约剩 {t}"),
    "left_range": ("~{lo}–{hi} left", "约剩 {lo}–{hi}"),
    "left_up_to": ("up to ~{t} left", "最多约剩 {t}"),  # a range whose near end has passed
    "late": ("taking longer than usual", "比平时慢"),  # one clock: the elapsed time already says how long
    "finishing": ("finishing", "即将完成"),
    # notes on the waiting line (ProgressEvent.extra["note"])
    "retrying": ("connection trouble, retrying", "连接不稳定，正在重试"),
    "unknown_state": ("unknown state {state!r}, still waiting", "未知状态 {state}，继续等待"),
    "unreachable": ("RunningHub not answering for {t} · the task keeps running there",
                    "RunningHub 已 {t} 无响应 · 任务仍在其上运行"),
    "answering_again": ("RunningHub answers again", "RunningHub 已恢复响应"),
    # the steps of a run
    "slot": ("waiting for a free slot", "等待空闲的任务名额"),
    "joined": ("waiting for the same request, already started by another run", "等待另一次运行已开始的相同请求"),
    "upload": ("uploading reference {index}/{count} ({size})", "正在上传参考图 {index}/{count}（{size}）"),
    "convert": ("converting reference {index} of {count} for real people…", "正在为真人转换参考 {index}/{count}…"),
    "submit": ("submitting", "正在提交"),
    "submit_fresh": ("submitting (fresh uploads)", "正在提交（参考图已重新上传）"),
    "resuming": ("resuming task {task_id}", "继续任务 {task_id}"),
    "download": ("downloading the video", "正在下载视频"),
    "download_of": ("downloading {done}/{total}", "正在下载 {done}/{total}"),
    "download_so_far": ("downloading {done}", "正在下载 {done}"),
    "reused": ("reused the saved video of task {task_id}", "已复用任务 {task_id} 保存的视频"),
    "saved": ("saved {file}", "已保存 {file}"),
    # the node's own lines
    "start": ("starting…", "开始…"),
    "finished": ("done", "完成"),
    "finished_reused": ("reused the saved video", "已复用保存的视频"),  # nothing was waited for
    "finished_resumed": ("resumed", "已继续完成"),  # an earlier run's task was waited for
    "task": ("task {task_id}", "任务 {task_id}"),
    "cancelled": ("cancelled · task {task_id} keeps running · queue again to pick it up "
                  "(or use RunningHub Fetch Task within 24 h)",
                  "已取消 · 任务 {task_id} 仍在运行 · 再次排队即可取回（或 24 小时内用“RunningHub 取回任务”节点取回）"),
    "cancelled_early": ("cancelled before anything was submitted (nothing charged)", "已取消，尚未提交（未扣费）"),
    "stopped": ("cancelled", "已取消"),
    "failed": ("failed: {line}", "失败：{line}"),
    # tasks that may be charged without a reported charge: running, unanswered, or charged unreported
    "budget_running": (", +{amount} not reported yet", "，另有尚未报账 {amount}"),
    # the RunningHub tab's reason for a run the pack refused before sending it (its row's code and price)
    "refused_budget": ("refused before any upload: this run ({price}) would pass the daily budget of .{site}; "
                       "raise or turn it off in Settings → RunningHub",
                       "已在上传前拒绝：本次运行（{price}）会超过 .{site} 的每日预算；可在 设置 → RunningHub 中调高或关闭"),
    "refused_budget_unchecked": ("refused before any upload: a price the daily budget of .{site} needs is unknown",
                                 "已在上传前拒绝：.{site} 每日预算所需的价格未知"),
    # what happened then, true still once the budget is set again (Settings then says nothing of it)
    "refused_budget_file": ("refused before any upload: the budget file was damaged or unreadable at the time",
                            "已在上传前拒绝：当时预算文件已损坏或无法读取"),
    # the budget set again over a damaged file (spend.reset_daily_budget): where that file went
    "budget_kept_aside": ("The damaged budget file was kept as {path}; a new one now holds the budget.",
                          "损坏的预算文件已另存为 {path}；预算已写入新文件。"),
    "budget_held": (" It did not say the budget of {sites}: set to 0 (every run there refused) until you set it.",
                    "该文件未能说明 {sites} 的预算：已设为 0（该站点的运行都会被拒绝），请重新设置。"),
    # one node run over a list (a batch): one line for all its items
    "batch": ("batch of {total}: {saved} saved · {running} running · {waiting} waiting",
              "批量 {total} 个：已保存 {saved} · 运行中 {running} · 等待 {waiting}"),
    "batch_failed": (" · {failed} failed", " · 失败 {failed}"),
    "batch_item_failed": ("\n#{item}: {why}", "\n第 {item} 项：{why}"),
    "item_charged": ("{why} (charged)", "{why}（已扣费）"),
    "item_not_charged": ("{why} (not charged)", "{why}（未扣费）"),
    "item_charge_unknown": ("{why} (charge not known yet)", "{why}（是否扣费尚不清楚）"),
    "grid_failed": ("failed: {why}", "失败：{why}"),
    "grid_no_video": ("no video", "无视频"),
    "batch_spent": (" · {amount}", " · 已花费 {amount}"),
    # a task fetched by id while a submit of the same site got no answer (run/fetch_match.py)
    "fetch_answers": ("this task is now the answer of the unanswered submit of {when}: queuing that request "
                      "again reuses this video",
                      "此任务已作为 {when} 那次未收到回复的提交的结果：再次排队该请求将复用此视频"),
    "fetch_not_answer": ("not taken as the answer of the unanswered submit of {when}: {why}. If it is that "
                         "submit's task, paste its id into that submit's row of the RunningHub tab (Recover this "
                         "id); otherwise that request stays refused until {until}, or change its variation to pay "
                         "for a new video",
                         "未作为 {when} 那次未收到回复的提交的结果：{why}。如果它确实是那次提交的任务，请把任务 id 粘贴到"
                         " RunningHub 标签页中该提交的那一行（“找回此 ID”）；否则该请求在 {until} 之前仍会被拒绝，"
                         "或修改其“变体”（variation）付费生成新视频"),
    "fetch_several": ("{count} submits of this site got no answer, so this task was not taken as the answer of "
                      "any: paste its id into the right row of the RunningHub tab (Recover this id) to let that "
                      "request be queued again",
                      "此站点有 {count} 次提交没有收到回复，因此此任务未被当作其中任何一次的结果：请把任务 id 粘贴到"
                      " RunningHub 标签页中对应的那一行（“找回此 ID”），该请求即可再次排队"),
    "why_known_before": ("this machine knew the task before that submit was sent",
                         "本机在那次提交之前就已知道此任务"),
    "why_ran_before": ("RunningHub says it took {took}, longer than the time since that submit",
                       "RunningHub 显示它用时 {took}，比那次提交至今的时间还长"),
    "why_duration": ("the video lasts {got} s, that request asked for {asked} s",
                     "视频时长 {got} 秒，而该请求要求 {asked} 秒"),
    "why_ratio": ("the video is {got}, that request asked for {asked}", "视频为 {got}，而该请求要求 {asked}"),
    "why_last_frame": ("that request asked for the last frame as an image and this task has none",
                       "该请求要求返回最后一帧图片，而此任务没有"),
    "why_extra_frame": ("this task returned a last-frame image that request did not ask for",
                        "此任务返回了该请求未要求的最后一帧图片"),
    # Video to Frames
    "decoding": ("decoding frame {done}/{total}", "正在解码第 {done}/{total} 帧"),
    "decoding_edited": ("decoding the trimmed / cropped video…", "正在解码裁剪后的视频…"),
    "frames_done": ("{count} frames · {fps:g} fps", "{count} 帧 · {fps:g} fps"),
}

# What went wrong and what to do, per error code of the pack's own, else per error class, for an
# error whose code (if any) has no line of its own in remote/error_codes.py (looked up first). A
# subclass without its own line uses its parent's. "{code}" is RunningHub's code, "{site}" the
# node's site, "{detail}" the client's English.
ERRORS: dict[str, tuple[str, str]] = {
    "no_key": ("no API key for .{site}: add one in Settings → RunningHub",
               ".{site} 没有 API 密钥：请在 设置 → RunningHub 中填写"),
    "key_shape": ("that does not look like a RunningHub API key (letters and digits, {length} characters for an "
                  "Enterprise-Shared key): copy it again from the API console; nothing was stored",
                  "这看起来不像 RunningHub API 密钥（企业共享密钥为 {length} 位字母和数字）：请从 API 控制台重新复制；"
                  "未保存任何内容"),
    "ServiceError": error_codes.SERVICE_LINE,  # a code without a row of its own reads as the table's
    "TaskFailedError": error_codes.FAILED_LINE,
    "AmbiguousSubmitError": ("the submit at {when} got no answer ({cause}), so it may have made a paid task: not "
                             "sent again. Find it in the call records of your API console on {records}, then "
                             "either paste its task id into the RunningHub tab (sidebar, this request's row) or "
                             "the RunningHub Fetch Task node to get the video without paying again, or change "
                             "variation to pay for a new video",
                             "{when} 的提交没有收到回复（{cause}），可能已创建付费任务：未自动重发。请在 {records} 的"
                             " API 控制台调用记录中找到它，然后把任务 id 粘贴到侧栏 RunningHub 标签页（此请求的那一行）"
                             "或“RunningHub 取回任务”节点，不再付费即可取回视频；或修改“变体”（variation）付费生成新视频"),
    "DownloadError": ("download failed; task {task_id} stays downloadable for 24 h: use RunningHub Fetch Task",
                      "下载失败；任务 {task_id} 在 24 小时内仍可下载：请用“RunningHub 取回任务”节点"),
    "TransportError": ("network problem talking to RunningHub: check the connection and queue again",
                       "与 RunningHub 的网络连接出错：请检查网络后重新运行"),
    "task_not_found_yet": ("RunningHub made task {task_id} but cannot find it yet (1004); it is not sent again: queue "
                           "again later to ask once more, or fetch it with RunningHub Fetch Task",
                           "RunningHub 已创建任务 {task_id}，但暂时查询不到（1004）；不会重新提交：请稍后重新运行再查询一次，"
                           "或用“RunningHub 取回任务”节点取回"),
    "WaitTimeoutError": ("stopped waiting; task {task_id} keeps running on RunningHub: fetch it later with "
                         "RunningHub Fetch Task",
                         "已停止等待；任务 {task_id} 仍在 RunningHub 上运行：稍后用“RunningHub 取回任务”节点取回"),
    "BudgetExceededError": ("refused before any upload: this run ({price}) and today's spend on .{site} ({spent}"
                            "{running}) pass your daily budget of {budget}; raise or turn it off in "
                            "Settings → RunningHub",
                            "已在上传前拒绝：本次运行（{price}）加上 .{site} 今天的花费（{spent}{running}）"
                            "超过每日预算 {budget}；可在 设置 → RunningHub 中调高或关闭"),
    "budget_file": ("the budget file {path} is damaged or unreadable, so every run is refused until the budget "
                    "is set again: Settings → RunningHub → Set the budget again (the damaged file is kept aside), "
                    "or `python -m runninghub_video budget --daily AMOUNT`",
                    "预算文件 {path} 已损坏或无法读取，在重新设置预算之前所有运行都会被拒绝：请在 设置 → RunningHub 中"
                    "点“重新设置预算”（损坏的文件会另存保留），或运行 `python -m runninghub_video budget --daily 金额`"),
    "ConversionFailedError": ("RunningHub could not convert {name} for real people ({reason}); nothing was submitted "
                              "or charged for a video: use another reference, or queue again to try once more",
                              "RunningHub 无法为真人转换{name}（{reason}）；视频未提交、未扣费：请换用其他参考，"
                              "或重新运行再试一次转换"),
    "conversion_slow": ("the conversion of {name} for real people is still running after {minutes} minutes (asset "
                        "{asset_id}); nothing was submitted: queue again later to pick the same conversion up",
                        "{name}的真人转换 {minutes} 分钟后仍未完成（素材 {asset_id}）；未提交：请稍后重新运行，会接着等待同一转换"),
    # the state folder (journal, key, budget) cannot be written
    "state_full": ("set-up problem: {detail}", "设置问题：保存插件状态的磁盘已满（{folder}）：请释放空间后重新运行；未上传、未扣费"),
    "state_unwritable": ("set-up problem: {detail}", "设置问题：插件状态文件夹 {folder} 无法写入：请修复其权限，或把 "
                         "RUNNINGHUB_STATE_DIR 设为可写的文件夹；未上传、未扣费"),
    "state_paid": ("set-up problem: {detail}", "设置问题：插件状态文件夹 {folder} 无法写入（磁盘已满或没有权限），任务 {task_id} "
                   "已提交并已付费，但无法记录它：释放空间或修复权限后，用“RunningHub 取回任务”节点按此任务 ID 取回视频（不会重复付费）"),
    # not enough memory to decode (the advice says what would fit)
    "output_full": ("set-up problem: {detail}", "设置问题：保存视频的磁盘已满（{folder}），任务 {task_id} 的视频未保存：释放空间后"
                    "重新运行即可取回（不会重复付费），或用“RunningHub 取回任务”节点取回"),
    "memory_frame": ("not enough memory: {detail}", "内存不足：连一帧 {width}×{height} 都无法解码（需要 {needed} GB，可用 "
                     "{available} GB）；请关闭其他程序"),
    "memory_frames": ("not enough memory: {detail}", "内存不足：解码 {frames} 帧 {width}×{height} 需要 {needed} GB，只有 "
                      "{available} GB 可用；请把“最多帧数”设为 {fit} 或更少，或把“每隔 N 帧”设为 {nth} 或更多（或关闭其他程序）"),
    "BudgetUncheckedError": ("refused before any upload: a price the daily budget needs is unknown: {detail}",
                             "已在上传前拒绝：每日预算所需的价格未知：{detail}"),
    "ApiError": ("{detail}", "RunningHub 返回错误（{code}）：{detail}"),  # an unknown code: RunningHub's own words
    "ConfigError": ("set-up problem: {detail}", "设置问题：{detail}"),
    "ValidationError": ("input problem: {detail}", "输入有误：{detail}"),
    "ResourceError": ("not enough memory: {detail}", "内存不足：{detail}"),  # the detail says what would fit
    "RunningHubError": ("{detail}", "出错：{detail}"),
    "Exception": ("{detail}", "出错：{detail}"),
}
# Input problems found before any upload, per code of the pack's own (remote/request.py): the English
# is the error's own message; the Chinese names options, references and modes as the nodes' Chinese
# widgets do (locales/zh/nodeDefs.json), from the error's details (:func:`_named`).
def _input(zh: str) -> tuple[str, str]:
    return ("input problem: {detail}", "输入有误：" + zh)


ERRORS.update({
    "mode_unknown": _input("未知的模式 {value}：可用 {modes}"),
    "model_mode": _input("{model} 没有{mode}模式：它提供 {modes}"),
    "prompt_empty": _input("提示词为空：请描述想要的视频（1-{maximum} 个字符）"),
    "prompt_half_character": _input("提示词无法发送：第 {position} 个字符只有半个（孤立的代理字符，常由复制粘贴出错留下），"
                                    "请删除或重新输入它；未上传、未扣费"),
    "prompt_long": _input("提示词有 {characters} 个字符，请缩短到 {maximum} 个以内"),
    "option_unused": _input("“{option}”不是 {where}的选项，请保持默认"),
    "real_person_model": _input("{model} 不能使用“真人参考”：RunningHub 无法向它发送真人参考（只有 {able} 可以）；"
                                "请关闭“真人参考”或换用这些模型；未上传、未扣费"),
    "kind_unused": _input("{where}不接受{kind}（{able} 可以）"),
    "kind_missing": _input("{where}需要{kind}，但没有连接"),
    "kind_count": _input("连接了 {count} 个{kind}：{where}接受 {minimum}-{maximum} 个{per_image}"),
    "visual_missing": _input("{where}至少需要 {minimum} 个参考（{kinds}），请连接一个"),
    "audio_alone": _input("参考音频需要同时连接至少一张参考图或一段参考视频（{model} 的规则）"),
    "option_needs": _input("“{option}”为 {value} 时至少需要一个{kind}：请连接一个，或选择其他“{option}”"),
    "option_whole": _input("“{option}”的值 {value} 不是整数"),
    "option_range": _input("“{option}”的值 {value} 超出范围：请用 {minimum} 到 {maximum}"),
    "duration_choice": _input("{model} 不支持时长 {value}：请用 {minimum}-{maximum} 的整数秒{auto}"),
    "option_choice": _input("{model} 不支持“{option}”为 {value}：可用 {choices}"),
    "clip_large": _input("{name} 有 {megabytes} MB：{model} 的{kind}每段最大 {maximum} MB；请缩短或降低分辨率"),
    "clip_long": _input("{name} 长 {seconds} 秒：{model} 的{kind}每段须为 {minimum}-{maximum} 秒；请剪短"),
    "clip_short": _input("{name} 长 {seconds} 秒：{model} 的{kind}每段须为 {minimum}-{maximum} 秒；请换更长的片段"),
    "clips_total": _input("{kind}合计 {seconds} 秒：{model} 最多接受合计 {maximum} 秒；请剪短或去掉一段"),
    "no_track": _input("{name} 没有{track}轨道：请连接含{track}的文件"),
    "empty_track": _input("{name} 的音频轨道是空的"),
    "still_image": _input("{name} 是静态图片，不是视频：请把它接到参考图输入"),
    "unreadable": _input("{name} 无法作为{track}读取（{reason}）"),
    "image_batch_empty": _input("{name} 是空批次：请至少连接一张图"),
    "image_small": _input("{name} 为 {width}x{height} 像素：参考图每边至少 {minimum} 像素（最好 {ideal} 以上）；"
                          "请换更大的图或先放大"),
    "frames_source": _input("请连接视频（VIDEO），或填写“视频路径”以读取帧"),
    "frames_trimmed": _input("该视频在裁剪范围内没有帧"),
    "prompts_none": _input("没有提示词：每行写一条提示词，或连接一个提示词列表"),
    "variations_range": _input("“变体数”须为 1 到 {maximum}，不是 {value}"),
    "budget_reset_choice": _input("请填写重新开始时的每日预算：一个金额，或明确选择“不设预算”；未作任何更改"),
    "budget_amount": _input("每日预算是 0 到 {maximum} 的金额（{currency}），留空则关闭；收到的是 {value}"),
    "task_id": _input("“{value}”不是 RunningHub 任务 ID：任务 ID 是一串长数字，如 2013508786110730241（节点、错误信息或命令行会显示）"),
    "task_id_length": _input("“{value}”不是 RunningHub 任务 ID：它有 {digits} 位数字，任务 ID 是 {expected} 位，"
                             "如 2013508786110730241；请完整复制（节点、错误信息或命令行会显示）"),
    "task_id_site": _input("这是 .{linked}（runninghub.{linked}）的任务地址，但所选站点是 .{chosen}：请选择站点 {linked}"
                           "（节点的“站点”，或 --site {linked}）"),
})
# The names in an input problem's details as the Chinese lines say them.
OPTION_NAMES_ZH = {"duration": "时长（秒）", "resolution": "分辨率", "aspect_ratio": "宽高比", "camera_fixed": "固定镜头",
                   "generate_audio": "生成音频", "seed": "种子", "web_search": "联网搜索", "task_type": "任务类型",
                   "bitrate": "码率"}
TRACKS_ZH = {"video": "视频", "audio": "音频"}
KINDS_ZH = {models.IMAGE: "参考图", models.VIDEO: "参考视频", models.AUDIO: "参考音频", models.FIRST_FRAME: "首帧图",
            models.LAST_FRAME: "尾帧图"}
MODES_ZH = {models.REFERENCE: "参考生视频", models.TEXT: "文生视频", models.FRAMES: "首尾帧生视频"}


def _references_zh(names: str) -> str:
    """References as run/real_person.py names them ("image 2", "video 1", "start image") in Chinese."""
    names = re.sub(r"\b(image|video|audio) (\d+)", lambda m: f"{KINDS_ZH[m.group(1)]} {m.group(2)}", names)
    names = re.sub(r" ?\(batch item (\d+)\)", r"（批次第 \1 张）", names).replace("the clip", "该片段")
    return names.replace("start image", KINDS_ZH[models.FIRST_FRAME]).replace("end image", KINDS_ZH[models.LAST_FRAME])


def _named(details: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """An input problem's details with the names Chinese lines use; other languages read the message."""
    named = dict(details)
    if lang != ZH:
        return named
    if "option" in named:
        named["option"] = OPTION_NAMES_ZH.get(named["option"], named["option"])
    if "name" in named:
        named["name"] = _references_zh(named["name"])
    if "track" in named:
        named["track"] = TRACKS_ZH.get(named["track"], named["track"])
    for key in ("kind", "kinds"):
        if key in named:
            kinds = [named[key]] if isinstance(named[key], str) else named[key]
            named[key] = "或".join(KINDS_ZH.get(k, k) for k in kinds)
    for key in ("mode", "modes"):
        if key in named:
            modes = [named[key]] if isinstance(named[key], str) else named[key]
            named[key] = "、".join(MODES_ZH.get(m, m) for m in modes if m)
    if "model" in named:
        named["where"] = named["model"] + (f"（{named['mode']}）" if named.get("mode") else " ")  # then 的, 需要…
    if "count" in named:
        named["per_image"] = "（批次中每张图各算一张）" if details.get("kind") == models.IMAGE else ""
    if "auto" in named:
        named["auto"] = "，或 auto（由模型决定）" if named["auto"] else ""
    return named


# The advice ending an error's English message (logs, CLI) in the run's own situations.
ADVICE: dict[str, str] = {
    "nothing_sent": "Nothing was sent or charged.",
    "queue_later": "Queue again later.",
    "taken_over": "Queue again to join it; nothing was submitted by this run.",
    "ambiguous": ("The pack will not send it again on its own. {records} Look for a task started at {when}, then "
                  "either (1) paste its task id into this request's row of ComfyUI's RunningHub tab (queuing this "
                  "request again then reuses that video) or get it without paying again with the RunningHub Fetch "
                  "Task node or `python -m runninghub_video fetch ID` (they say whether they could tell it is this "
                  "submit's task, and what to do if not), or (2) change 'variation' to pay for a new video."),
}
_OWN_WORDS = ("ApiError", "ConfigError", "ValidationError", "RunningHubError", "Exception")  # {detail} says it all


def language_of(locale: Any) -> str:
    """"zh" for any Chinese locale ("zh", "zh-CN", "zh-TW"), else "en" — as js/format.js decides."""
    return ZH if str(locale or "").strip().lower().startswith("zh") else EN


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == ZH else pair[0]


def say(key: str, lang: str = EN, **values: Any) -> str:
    """The line ``key`` of :data:`LINES` in ``lang``, filled with ``values``."""
    return _pick(LINES[key], lang).format(**values)


def advice(key: str, **values: Any) -> str:
    """The advice ``key`` of :data:`ADVICE`, filled with ``values``."""
    return ADVICE[key].format(**values)


def batch_line(total: int, saved: int, running: int, failed: int, spent: Money | None = None,
               lang: str = EN) -> str:
    """The status line of one node run over a list of ``total`` items; ``spent``: charged so far."""
    line = say("batch", lang, total=total, saved=saved, running=running,
               waiting=max(0, total - saved - running - failed))
    if failed:
        line += say("batch_failed", lang, failed=failed)
    if spent:
        line += say("batch_spent", lang, amount=format_money(spent, lang))
    return line


# --- figures (money reads as money.format_money says) -----------------------------------------
def format_duration(seconds: float) -> str:
    """"0:41", "12:05", "1:02:03"."""
    seconds = int(max(0, seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else \
        f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def format_size(size: int) -> str:
    """"12.3 MB", "340 KB", "512 B": a small file is never "0.0 MB"."""
    if size >= 1e6:
        return f"{size / 1e6:.1f} MB"
    return f"{size / 1e3:.0f} KB" if size >= 1e3 else f"{int(size)} B"


def state_name(state: str, lang: str = EN) -> str:
    """A RunningHub state in ``lang``; a state this pack does not know stays as RunningHub sent it."""
    state = state or "SUBMITTED"
    return _pick(STATES[state], lang) if state in STATES else state


# --- progress events -------------------------------------------------------------------------
def describe(event: ProgressEvent, lang: str = EN) -> str:
    """The status line for ``event`` in ``lang``: what a node, the terminal and the log show.
    An event of a kind this module does not know (or missing its details) is named by its phase."""
    extra, phase = event.extra or {}, event.phase
    try:
        if phase in ("queued", "running"):
            if extra.get("resumed"):
                return say("resuming", lang, task_id=event.task_id)
            if extra.get("joined"):
                return say("joined", lang)
            return _waiting(event, lang)
        if phase == "slot":
            return say("slot", lang)
        if phase == "upload":
            return say("upload", lang, index=extra["index"], count=extra["count"], size=format_size(extra["bytes"]))
        if phase == "convert":
            return say("convert", lang, index=extra["index"], count=extra["count"])
        if phase == "submit":
            return say("submit_fresh" if extra.get("fresh_uploads") else "submit", lang)
        if phase == "download":
            return _downloading(extra, lang)
        if phase == "done" and extra.get("reused"):
            return say("reused", lang, task_id=event.task_id)
        if phase == "done":
            return say("saved", lang, file=extra["file"])
    except (KeyError, TypeError, ValueError):
        pass  # a display problem must never stop a run: say at least where it is
    return phase


def _waiting(event: ProgressEvent, lang: str) -> str:
    """The 1 s ticker while queued or running: state, elapsed, queue time, outlook, price, note."""
    return SEP.join(text for _, text in waiting_parts(event, lang))


# The waiting line's fields, most useful first: what a narrow terminal keeps (terminal.py).
WAITING_FIELDS = ("state", "elapsed", "note", "left", "price", "in_queue")


def waiting_parts(event: ProgressEvent, lang: str = EN) -> list[tuple[str, str]]:
    """The waiting line as (field, words) in reading order; the field names are :data:`WAITING_FIELDS`."""
    parts = [("state", state_name(event.state, lang)),
             ("elapsed", say("elapsed", lang, t=format_duration(event.elapsed_s)))]
    if event.queued_s >= 1:
        parts.append(("in_queue", say("in_queue", lang, t=format_duration(event.queued_s))))
    extra = event.extra or {}
    note = extra.get("note")
    if note == "unreachable":  # no answer, so no outlook: say only that RunningHub is silent
        pass
    elif "late_s" in extra:
        parts.append(("left", say("late", lang)))
    elif "eta_range" in extra:
        lo, hi = extra["eta_range"]
        parts.append(("left", say("left_range", lang, lo=format_duration(lo), hi=format_duration(hi)) if lo >= 1
                      else say("left_up_to", lang, t=format_duration(hi))))
    elif event.eta_s is not None:
        parts.append(("left", say("left", lang, t=format_duration(event.eta_s)) if event.eta_s >= 1
                      else say("finishing", lang)))
    if event.price is not None:
        parts.append(("price", format_money(event.price, lang, approx=not event.charged)))
    if note:
        parts.append(("note", say(note, lang, state=event.state,
                                  t=format_duration(extra.get("silent_s", 0)))))
    return parts


def _downloading(extra: Mapping, lang: str) -> str:
    if "bytes_done" not in extra:
        return say("download", lang)
    done, total = format_size(extra["bytes_done"]), extra.get("bytes_total")
    if total:
        return say("download_of", lang, done=done, total=format_size(total))
    return say("download_so_far", lang, done=done)


# --- the node's own lines ----------------------------------------------------------------------
def finished(task_id: str, filename: str, *, reused: bool = False, resumed: bool = False,
             cost: Money | None = None, elapsed_s: float = 0.0, lang: str = EN) -> str:
    """The node's closing lines: "done · task … · 0.75 CNY · 0:12" and the file name below;
    "resumed" when an earlier run's task was waited for, "reused the saved video" when nothing was."""
    word = "finished_reused" if reused else "finished_resumed" if resumed else "finished"
    parts = [say(word, lang), say("task", lang, task_id=task_id)]
    if cost is not None:
        parts.append(format_money(cost, lang))
    if elapsed_s:
        parts.append(format_duration(elapsed_s))
    return SEP.join(parts) + f"\n{filename}"


def budget_kept_aside(path: Any, held: Sequence[str], lang: str = EN) -> str:
    """Said after the budget was set again over a damaged file: where that file went, and the other
    sites it did not say the budget of (held at 0)."""
    sites = ", ".join(f".{site}" for site in held)
    return say("budget_kept_aside", lang, path=path) + (say("budget_held", lang, sites=sites) if held else "")


def decoding(done: int, total: int, lang: str = EN) -> str:
    """The Video to Frames node while it decodes (``total`` 0: the file does not say)."""
    return say("decoding", lang, done=done, total=total or "?")


def frames_done(count: int, fps: float, lang: str = EN) -> str:
    return say("frames_done", lang, count=count, fps=round(fps, 3))


def cancelled(task_id: str = "", lang: str = EN) -> str:
    """After Cancel: the task keeps running (and is paid), so say how to pick it up."""
    return say("cancelled", lang, task_id=task_id) if task_id else say("cancelled_early", lang)


def error_line(exc: BaseException, lang: str = EN, *, site: str = "", no_key: bool = False) -> str:
    """One short line saying what went wrong and what to do, in ``lang`` (the node's status and the
    error dialog). ``no_key``: the error is the missing key of ``site``."""
    if no_key:
        return key_problem(None, site, lang)
    detail = str(exc).strip() or type(exc).__name__
    row = error_codes.CODES.get(str(getattr(exc, "code", "") or ""))
    pair = row and (row.option_line if isinstance(exc, errors.RealPersonError) else row.line)
    own = [str(getattr(exc, "code", "") or "")]  # a code of the pack's own ("key_shape"), then the class
    key = next((k for k in own + [c.__name__ for c in type(exc).__mro__] if k in ERRORS), "Exception")
    values = {**_named(getattr(exc, "details", {}), lang), "code": getattr(exc, "code", "") or "?",
              "task_id": getattr(exc, "task_id", "") or "?", "site": site, "detail": detail, "length": facts.KEY_LENGTH}
    if isinstance(exc, errors.AmbiguousSubmitError):  # when, why and where to look, on the node itself
        at = getattr(exc, "submitted_at", None)
        values.update(when=time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) if at else "?",
                      cause=exc.cause.rstrip("."), records=facts.SITES.get(site, facts.SITES[facts.DEFAULT_SITE]))
    if isinstance(exc, errors.RealPersonError):
        values.update(_real_person_values(exc, lang))
    day = getattr(exc, "day", None)  # a budget refusal's figures (spend.BudgetExceededError)
    if day is not None:
        zero = Money.zero(day.currency)
        shown = {name: format_money(amount or zero, lang) for name, amount in
                 (("price", exc.price), ("spent", day.spent), ("running", day.running), ("budget", day.budget))}
        shown["running"] = say("budget_running", lang, amount=shown["running"]) if day.running else ""
        values.update(shown)
    line = _pick(pair or ERRORS[key], lang).format_map(_Filled(values))
    server = getattr(exc, "server_message", "")
    if server and (pair or key not in _OWN_WORDS):
        line += f"{SEP}RunningHub: {server}"
    return line


class _Filled(dict):
    """An error's values; one a line names but the error did not carry reads "?" (an error line must never fail)."""

    def __missing__(self, key: str) -> str:
        return "?"


_REFUSALS = {"budget": "refused_budget", "budget_unchecked": "refused_budget_unchecked",
             "budget_file": "refused_budget_file"}  # the pack's own refusals before any upload, by code


def row_reason(code: Any, site: str, lang: str = EN, *, price: Money | None = None, message: str = "",
               task_id: str = "") -> str:
    """Why a journal row gave no video, as the RunningHub tab shows it in ``lang``: a refusal of the
    pack's own by its code (``price``: what the budget counted), a RunningHub code by the line the
    node shows for it (``message``: RunningHub's own words when a task ran, ``task_id``), else the
    row's ``message`` as kept."""
    code = str(code or "")
    if code in _REFUSALS:
        return say(_REFUSALS[code], lang, site=site, price=format_money(price, lang) if price else "?")
    if code == errors.TaskNotFoundError.NOT_FOUND_YET:  # a task made that no query found yet: the node's line
        return _pick(ERRORS[code], lang).format_map(_Filled(task_id=task_id or "?"))
    if not code or not code.isdigit():
        return message
    said = message if task_id else ""  # a refused submit keeps the pack's English message, not RunningHub's
    return error_line(error_codes.error_for_code(code, said, site=site, task_id=task_id), lang, site=site)


def _real_person_values(exc: errors.RealPersonError, lang: str) -> dict[str, str]:
    """The references RunningHub named and what it said of the charge, for the 1505 line."""
    refs = ", ".join(exc.references) if exc.references else _pick(("a reference", "参考"), lang)
    if lang == ZH:
        refs = _references_zh(refs)
    if exc.cost:
        charge = _pick((", charged {amount}", "，已扣费 {amount}"), lang).format(amount=format_money(exc.cost, lang))
    else:
        charge = _pick((", no charge reported", "，未报告扣费"), lang)
    return {"refs": refs, "charge": charge}


def failed(exc: BaseException, lang: str = EN, **kwargs: Any) -> str:
    """The node's status after an error: "failed: …" / "失败：…"."""
    return say("failed", lang, line=error_line(exc, lang, **kwargs))


def key_problem(exc: BaseException | None, site: str, lang: str = EN) -> str:
    """The node's short line about the key of ``site``: missing (``exc`` None), or refused (the line of
    the refusal's code)."""
    if exc is None:
        return _pick(ERRORS["no_key"], lang).format(site=site)
    return error_line(exc, lang, site=site)


def key_test_line(exc: BaseException, site: str, lang: str = EN, *, no_key: bool = False) -> str:
    """What Test key says of a failed call: the plain advice when its code is about the key itself
    (the settings panel is where the key is fixed), else the error's short line."""
    return key_advice(getattr(exc, "code", ""), site, lang) or error_line(exc, lang, site=site, no_key=no_key)


def key_advice(code: Any, site: str, lang: str = EN) -> str:
    """Plain advice for an error code that is about the key itself; "" for any other code."""
    row = error_codes.CODES.get(str(code or ""))
    if row is None or row.key_line is None:
        return ""
    pair = row.key_line
    other = next((s for s in facts.SITES if s != site), site)
    return _pick(pair, lang).format(code=code, site=site, other=other,
                                    page=facts.KEY_PAGES.get(site, f"runninghub.{site}"))
