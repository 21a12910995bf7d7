"""What the exercises say, in English and in Chinese: one table, one entry per message.

Entries are looked up by a :class:`rnnlab.exercise.core.Msg`'s key and filled from its values
(a value that is itself a message is rendered first). The exercises' own words (titles, check
titles, the variants' diagnoses) live in their entries; the language is chosen as ``rnnlab
lesson`` chooses it (:func:`rnnlab.lesson.text.lesson_lang`).
"""

from __future__ import annotations

from rnnlab.exercise.core import Msg

# The sections of docs/lesson.md (docs/lesson.zh.md) a hint points to: their headings there, word for word.
LESSON_SECTIONS: dict[str, dict[str, str]] = {
    "data": {"en": "The data", "zh": "数据"},
    "rnncell": {"en": "1. RNNCell (RNN 单元)", "zh": "1. RNNCell（RNN 单元）"},
    "rnn": {"en": "2. RNN", "zh": "2. RNN"},
    "embedding": {"en": "3. Embedding (嵌入层)", "zh": "3. Embedding（嵌入层）"},
    "homework": {"en": "Homework: LSTM and GRU", "zh": "作业：LSTM 和 GRU"},
}
DOCS = {"en": ("docs/exercises.md", "docs/lesson.md"), "zh": ("docs/exercises.zh.md", "docs/lesson.zh.md")}

MESSAGES: dict[str, dict[str, str]] = {
    # The report.
    "report.head": {"en": "{name} (exercise {number}: {title}): {source}", "zh": "{name}（练习 {number}：{title}）：{source}"},
    "report.ok": {"en": "ok", "zh": "通过"},
    "report.failed": {"en": "FAILED", "zh": "未通过"},
    "report.skipped": {"en": "not run", "zh": "未运行"},
    "report.covered": {"en": "{title} ({what})", "zh": "{title}（{what}）"},
    "report.case": {"en": "{title}, {case}", "zh": "{title}，{case}"},
    "report.diagnosis": {"en": "diagnosis: {label}. {why}", "zh": "诊断：{label}。{why}"},
    "report.two": {"en": "diagnosis: two mistakes at once:", "zh": "诊断：同时有两处错误："},
    "report.one_of_two": {"en": "{n}. {label}. {why}", "zh": "{n}. {label}。{why}"},
    "report.advice": {"en": "diagnosis: {advice}", "zh": "诊断：{advice}"},
    "report.where": {"en": "stopped at {where}", "zh": "停在 {where}"},
    "report.see": {
        "en": 'see {exercises}, "{exercise}"; {lesson}, "{section}"',
        "zh": "参见 {exercises}「{exercise}」；{lesson}「{section}」",
    },
    "report.passed": {"en": "all {n} checks passed", "zh": "全部 {n} 项检查通过"},
    "report.error": {"en": "cannot be checked: {error}", "zh": "无法检查：{error}"},
    # One line per exercise in `rnnlab exercise list`.
    "summary.pass": {"en": "passed", "zh": "通过"},
    "summary.fail": {"en": "failed: {check}: {why}", "zh": "未通过：{check}：{why}"},
    "summary.error": {"en": "cannot be checked: {error}", "zh": "无法检查：{error}"},
    "status.not_started": {"en": "not started", "zh": "未开始"},
    "status.started": {"en": "started ({file}), not checked", "zh": "已开始（{file}），尚未检查"},
    # A configuration the checks run on.
    "case": {"en": "with {sizes}, {bias}, {state}", "zh": "配置：{sizes}，{bias}，{state}"},
    "case.bias": {"en": "bias=True", "zh": "bias=True（有偏置）"},
    "case.no_bias": {"en": "bias=False", "zh": "bias=False（无偏置）"},
    "case.state": {"en": "a random initial state", "zh": "随机的初始状态"},
    "case.no_state": {"en": "no initial state (zeros, as in torch.nn)", "zh": "不传初始状态（即全零，与 torch.nn 相同）"},
    "case.call": {"en": "with {call}, {input}", "zh": "配置：{call}，{input}"},
    # What a check covered.
    "covered.cases": {"en": "{n} configurations", "zh": "{n} 种配置"},
    "covered.trains": {"en": '{programs}: {epochs} epochs, "{target}" at the end', "zh": '{programs}：{epochs} 轮，最后得到 "{target}"'},
    # The trains check of programs 3 to 5 (rnnlab.exercise.program3).
    "fail.trains_parted": {
        "en": '{program}, epoch {epoch} of {epochs}: your model predicts "{got}" (loss {loss:.4f}), the lesson\'s "{want}" (loss {ref_loss:.4f})',
        "zh": '{program} 第 {epoch}/{epochs} 轮：你的模型预测 "{got}"（损失 {loss:.4f}），课程的模型预测 "{want}"（损失 {ref_loss:.4f}）',
    },
    "fail.trains_loss": {
        "en": "{program}, epoch {epoch} of {epochs}: your model's loss is {loss:.6g}, the lesson's {ref_loss:.6g} (both predict \"{got}\")",
        "zh": '{program} 第 {epoch}/{epochs} 轮：你的模型的损失是 {loss:.6g}，课程的模型是 {ref_loss:.6g}（两者都预测 "{got}"）',
    },
    "fail.trains_target": {
        "en": '{program}: after {epochs} epochs your model predicts "{got}", not "{want}"',
        "zh": '{program}：{epochs} 轮之后你的模型预测 "{got}"，而不是 "{want}"',
    },
    # Why a file cannot be checked (exit status 2).
    "error.at": {"en": "{file}, line {line}: {error}", "zh": "{file} 第 {line} 行：{error}"},
    "error.missing": {
        "en": "{file} defines no {target} (the name the skeleton gives it: rnnlab exercise start {exercise})",
        "zh": "{file} 没有定义 {target}（骨架里的名字；rnnlab exercise start {exercise} 会写出骨架）",
    },
    "error.not_module": {
        "en": "{target} is not a class derived from torch.nn.Module (the skeleton's: class {target}(nn.Module))",
        "zh": "{target} 不是继承自 torch.nn.Module 的类（骨架中写的是 class {target}(nn.Module)）",
    },
    "error.not_function": {
        "en": "{target} is not a function (the skeleton's: def {target}(...))",
        "zh": "{target} 不是函数（骨架中写的是 def {target}(...)）",
    },
    "error.load_timeout": {
        "en": '{file} did not finish loading within {limit:g} s (work at import time? the checks need only the definitions: put other code under if __name__ == "__main__":)',
        "zh": '{file} 在 {limit:g} 秒内没有加载完（导入时做了耗时的工作？检查只需要定义：其他代码请放到 if __name__ == "__main__": 下面）',
    },
    "error.load_exit": {
        "en": "{file} ended the checking process while loading (exit status {code}){detail}",
        "zh": "{file} 在加载时结束了检查进程（退出状态 {code}）{detail}",
    },
    "error.no_marker": {
        "en": "{file} does not say which exercise it is: its first line should be '# rnnlab exercise: NAME' (rnnlab exercise start writes it), or give --exercise NAME",
        "zh": "{file} 没有说明是哪个练习：第一行应为 '# rnnlab exercise: NAME'（rnnlab exercise start 会写上），或者给出 --exercise NAME",
    },
    # Why a check failed (exit status 3).
    "fail.timeout": {"en": "did not finish within {limit:g} s (an endless loop?)", "zh": "未能在 {limit:g} 秒内结束（死循环？）"},
    "fail.exit": {
        "en": "the checking process ended during this check (exit status {code}){detail}",
        "zh": "检查进程在这一项检查中结束了（退出状态 {code}）{detail}",
    },
    "fail.raised": {"en": "{call} raised {error}", "zh": "{call} 抛出了异常 {error}"},
    "fail.param_missing": {
        "en": "{call} has no parameter {name}; {ref} has {name} of shape {shape}",
        "zh": "{call} 没有参数 {name}；{ref} 有，形状为 {shape}",
    },
    "fail.param_shape": {
        "en": "{call}: {name} has shape {got}; in {ref} it has {want}",
        "zh": "{call}：{name} 的形状是 {got}；{ref} 中是 {want}",
    },
    "fail.param_extra": {
        "en": "{call} has a parameter {name} that {ref} has not ({ref}'s: {names})",
        "zh": "{call} 有一个 {ref} 没有的参数 {name}（{ref} 的参数：{names}）",
    },
    "fail.structure": {"en": "{call} returned {got}; {ref} returns {want}", "zh": "{call} 返回了 {got}；{ref} 返回 {want}"},
    "fail.shape": {"en": "{name} has shape {got}; in {ref} it has {want}", "zh": "{name} 的形状是 {got}；{ref} 中是 {want}"},
    "fail.dtype": {"en": "{name} is {got} for {want} inputs", "zh": "输入是 {want} 时 {name} 却是 {got}"},
    "fail.value": {
        "en": "{name} differs from {ref}'s by up to {diff:.3g} (at {index})",
        "zh": "{name} 与 {ref} 的结果最多相差 {diff:.3g}（位置 {index}）",
    },
    "fail.value_ok": {"en": "{name} matches", "zh": "{name} 一致"},
    "fail.grad_none": {"en": "no gradient reaches {name}", "zh": "没有梯度传到 {name}"},
    "fail.grad": {"en": "the gradient of {name} differs by up to {diff:.3g}", "zh": "{name} 的梯度最多相差 {diff:.3g}"},
    "fail.backward": {"en": "backward through forward's result raised {error}", "zh": "对 forward 的结果做反向传播时抛出了异常 {error}"},
    # Exercise 9 (training_loop): a training run, its losses, its printed lines.
    "case.training": {"en": "on {data} ({sizes}), {epochs} epochs, lr={lr:g}", "zh": "数据 {data}（{sizes}），{epochs} 轮，lr={lr:g}"},
    "covered.reached": {
        "en": "{target} first at epoch {epoch}/{epochs}, as the lecture's",
        "zh": "与课上相同，在第 {epoch}/{epochs} 轮第一次得到 {target}",
    },
    "fail.epochs": {
        "en": "{call} returned {got} losses; {ref} returns {want}, one per epoch",
        "zh": "{call} 返回了 {got} 个损失；{ref}返回 {want} 个，每轮一个",
    },
    "fail.epoch_loss": {
        "en": "epoch {epoch}: the loss is {got:.6g}; {ref}'s is {want:.6g}",
        "zh": "第 {epoch} 轮：损失是 {got:.6g}；{ref}的是 {want:.6g}",
    },
    "fail.reached_at": {
        "en": "the printed predictions read {target} first at epoch {got}; {ref}'s at epoch {want}",
        "zh": "打印的预测在第 {got} 轮第一次是 {target}；{ref}是在第 {want} 轮",
    },
    "fail.not_reached": {
        "en": "the printed predictions never read {target} in {epochs} epochs; {ref}'s do at epoch {want}",
        "zh": "打印的预测在 {epochs} 轮中从未是 {target}；{ref}在第 {want} 轮就是",
    },
    "fail.line": {"en": "the line printed at epoch {epoch} differs from {ref}'s:", "zh": "第 {epoch} 轮打印的一行与{ref}的不同："},
    "fail.line_got": {"en": "  printed:  {line}", "zh": "  打印的：{line}"},
    "fail.line_want": {"en": "  expected: {line}", "zh": "  应为：  {line}"},
    "line.none": {"en": "(no line)", "zh": "（没有这一行）"},
    "ref.loop": {"en": "the lecture's loop", "zh": "课上的循环"},
    "ref.answer": {"en": "the right answer", "zh": "正确答案"},
    "advice.init_hidden": {
        "en": "the checks train in float64, and net.init_hidden() gives float64 zeros; a state made with torch.zeros(...) is float32: take hidden = net.init_hidden() at the start of every epoch",
        "zh": "检查在 float64 下训练，net.init_hidden() 给出的是 float64 的全零；用 torch.zeros(...) 新建的状态是 float32：每一轮开始时写 hidden = net.init_hidden()",
    },
    "advice.training": {
        "en": "no known mistake gives these losses (it may be two or more at once); compare the loop with program 1's, line by line: zero_grad, init_hidden, loss += criterion(hidden, label), backward, step",
        "zh": "没有哪种已知错误会得到这些损失（可能同时有两处以上的错误）；请把循环与程序 1 的逐行对照：zero_grad、init_hidden、loss += criterion(hidden, label)、backward、step",
    },
    "advice.printed": {
        "en": "the checks compare every printed line with the lecture's, character for character: 'Predicted string: ', the characters, then ', Epoch [%d/%d] loss=%.4f' % (epoch + 1, epochs, loss.item()), one line per epoch and nothing else",
        "zh": "检查逐字比较打印的每一行与课上的：'Predicted string: '、各个字符，然后是 ', Epoch [%d/%d] loss=%.4f' % (epoch + 1, epochs, loss.item())，每轮一行，不打印别的",
    },
    "advice.print_end": {
        "en": "the right text, broken into several lines: print the head and each character with end='' so that an epoch's line ends only after the loss",
        "zh": "文字正确，但被分成了几行：打印开头和每个字符时用 end=''，让一轮的这一行在损失之后才换行",
    },
    # General diagnoses, where no known mistake matches.
    "advice.params": {
        "en": "the checks copy torch.nn's weights into yours by name: keep the skeleton's nn.Parameter attributes, named and shaped as torch.nn's (a weight's rows are its outputs, its columns its inputs)",
        "zh": "检查按名字把 torch.nn 的权重复制到你的参数里：请保留骨架中的 nn.Parameter 属性，名字和形状都与 torch.nn 相同（权重的行对应输出，列对应输入）",
    },
    "advice.not_written": {
        "en": "the code still raises the skeleton's NotImplementedError: write it where the TODO is",
        "zh": "代码仍在抛出骨架里的 NotImplementedError：请在 TODO 处写出计算",
    },
    "advice.bias_none": {
        "en": "with bias=False the biases are None (as in torch.nn): add them only when they are not None (if self.bias_ih is not None: ...)",
        "zh": "bias=False 时偏置为 None（与 torch.nn 相同）：只在它们不是 None 时才加上（if self.bias_ih is not None: ...）",
    },
    "advice.matmul": {
        "en": "a matrix product's shapes do not fit. torch.nn keeps a weight as (outputs, inputs), here {params}; x @ W.T (or F.linear(x, W)) takes (B, inputs) to (B, outputs): is a weight used untransposed, or the wrong weight?",
        "zh": "矩阵乘法的形状对不上。torch.nn 的权重形状是（输出维度, 输入维度），这里是 {params}；x @ W.T（或 F.linear(x, W)）把 (B, 输入维度) 变成 (B, 输出维度)：是不是某个权重没有转置，或者用错了权重？",
    },
    "advice.shapes": {
        "en": "two tensors' shapes do not fit; the shapes here: {shapes}",
        "zh": "两个张量的形状对不上；这里的形状：{shapes}",
    },
    "advice.dtype": {
        "en": "the checks run in float64, and a tensor made without the input's dtype (torch.zeros(B, H) is float32) meets float64 ones: make it with x.new_zeros(B, H), or pass dtype=x.dtype",
        "zh": "检查使用 float64，而一个没有指定输入 dtype 的新张量（torch.zeros(B, H) 是 float32）遇到了 float64 的张量：请用 x.new_zeros(B, H) 创建，或者传入 dtype=x.dtype",
    },
    "advice.graph": {
        "en": "the values are right but backward cannot reach {name}: part of the computation is outside autograd (.detach(), .data, .item(), torch.no_grad(), or a new tensor made from values with torch.tensor(...))",
        "zh": "数值正确，但反向传播到不了 {name}：有一部分计算在 autograd 之外（.detach()、.data、.item()、torch.no_grad()，或者用 torch.tensor(...) 从数值新建了张量）",
    },
    "advice.grad": {
        "en": "the values are right but the gradients are not: is a tensor changed in place, or part of forward computed outside autograd?",
        "zh": "数值正确但梯度不对：是否有张量被原地修改，或者 forward 的一部分在 autograd 之外计算？",
    },
    "advice.layers": {
        "en": "the checks copy the lecture's weights into yours by name: make the layers as program 3 does, self.emb = nn.Embedding(input_size, embedding_size), "
        "self.rnn = nn.RNN(embedding_size, hidden_size, num_layers=num_layers, batch_first=True) (the homework: nn.LSTM or nn.GRU), self.fc = nn.Linear(hidden_size, num_class)",
        "zh": "检查按名字把课程模型的权重复制到你的模型里：请像程序 3 那样构造各层：self.emb = nn.Embedding(input_size, embedding_size)，"
        "self.rnn = nn.RNN(embedding_size, hidden_size, num_layers=num_layers, batch_first=True)（作业中换成 nn.LSTM 或 nn.GRU），self.fc = nn.Linear(hidden_size, num_class)",
    },
    "advice.trains": {
        "en": "one forward pass gives the lecture's values, yet training goes another way: does the model keep something from one call to the next "
        "(a state kept in self), draw random numbers, or change its weights outside the optimizer?",
        "zh": "单次前向传播的数值与课程一致，训练却走了另一条路：模型是否在两次调用之间保留了什么（存在 self 里的状态）、"
        "用了随机数，或者在优化器之外改动了权重？",
    },
    "advice.unknown": {
        "en": "no known mistake gives these numbers (it may be two or more at once); compare each line of forward with the equations",
        "zh": "没有哪种已知错误会得到这些数值（可能同时有两处以上的错误）；请把 forward 的每一行与公式对照",
    },
}


def render(m: Msg | str, lang: str) -> str:
    """Message ``m`` in language ``lang`` (a plain string is already text)."""
    if isinstance(m, str):
        return m
    values = {k: render(v, lang) if isinstance(v, Msg) else v for k, v in m.values.items()}
    return MESSAGES[m.key][lang].format(**values)
