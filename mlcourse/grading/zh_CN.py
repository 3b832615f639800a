"""The checks' messages in Simplified Chinese: each English template of ``say`` and its Chinese,
with the same ``{field}`` slots (tests/test_grading_language.py checks that every template has one)."""
MESSAGES = {
    # mlcourse.grading.asserts
    "{name}: expected an array of shape {shape}, got {kind} {value!r}":
        "{name}：应为形状 {shape} 的数组，实际得到 {kind} {value!r}",
    "{name}: expected shape {expected}, got shape {actual}": "{name}：形状应为 {expected}，实际为 {actual}",
    "{name} must return {wanted}, got None. Did you forget a return statement?":
        "{name} 应返回 {wanted}，实际返回了 None。是不是忘了写 return 语句？",
    "one array": "一个数组",
    "one {kind}": "一个 {kind}",
    "{name} must return {wanted}, got {got}. Return them together: return {parts}":
        "{name} 应返回 {wanted}，实际返回了{got}。请把它们一起返回：return {parts}",
    "{name} must return {wanted}, {count} values, got {got}": "{name} 应返回 {wanted}，共 {count} 个值，实际返回了 {got} 个",
    "{name}: got None. Did you forget a return statement?": "{name}：得到的是 None。是不是忘了写 return 语句？",
    "{name}: expected a number close to {expected:.8g}, got {kind} {value!r}":
        "{name}：应为接近 {expected:.8g} 的数，实际得到 {kind} {value!r}",
    "{name}: contains nan or inf: {values}": "{name}：含有 nan 或 inf：{values}",
    "{name}: expected {expected:.8g}, got {actual:.8g} (relative error {err:.2e}, allowed {tol:.0e})":
        "{name}：应为 {expected:.8g}，实际为 {actual:.8g}（相对误差 {err:.2e}，允许 {tol:.0e}）",
    "{name}: {wrong} of {size} entries differ (relative error up to {err:.2e}, allowed {tol:.0e}).":
        "{name}：{size} 个元素中有 {wrong} 个不符（相对误差最大 {err:.2e}，允许 {tol:.0e}）。",
    "  worst at index {index}: expected {expected:.8g}, got {actual:.8g}":
        "  相差最大的位置是下标 {index}：应为 {expected:.8g}，实际为 {actual:.8g}",
    "  expected:": "  应为：",
    "  got:": "  实际：",
    "  at {index}: expected {expected:.8g}, got {actual:.8g}": "  下标 {index}：应为 {expected:.8g}，实际为 {actual:.8g}",
    "  ... and {more} more": "  ……另有 {more} 个",
    "{name}: expected {expected!r}, got {actual!r}": "{name}：应为 {expected!r}，实际为 {actual!r}",
    "{name}: {bad} of {size} entries differ; first at index {index}: expected {expected!r}, got {actual!r}":
        "{name}：{size} 个元素中有 {bad} 个不符；第一个在下标 {index}：应为 {expected!r}，实际为 {actual!r}",
    "{name} (analytic vs numerical gradient)": "{name}（解析梯度与数值梯度对比）",
    "{name} uses the mlcourse package. Graded functions must be your own code; this cell scores 0 otherwise.":
        "{name} 用到了 mlcourse 包。计分的函数必须是你自己写的代码，否则这个单元格记 0 分。",
    "{name} is built on {base} from the mlcourse package. Write the class yourself; this cell scores 0 otherwise.":
        "{name} 建立在 mlcourse 包的 {base} 之上。请自己写这个类，否则这个单元格记 0 分。",
    "{name} is the mlcourse reference itself, not your own implementation. Write the function body yourself; "
    "this cell scores 0 otherwise.":
        "{name} 就是 mlcourse 的参考实现本身，不是你自己的实现。请自己写函数体，否则这个单元格记 0 分。",
    "{name} comes from the module {module}, not from your notebook. Write the function body yourself; this cell "
    "scores 0 otherwise.":
        "{name} 来自模块 {module}，而不是你的笔记本。请自己写函数体，否则这个单元格记 0 分。",
    "imports the mlcourse package": "导入了 mlcourse 包",
    "uses {names} from the mlcourse package": "用到了 mlcourse 包里的 {names}",
    "{name} {what}. Graded functions must be your own code; this cell scores 0 otherwise.":
        "{name} {what}。计分的函数必须是你自己写的代码，否则这个单元格记 0 分。",
    "{name} must not use Python loops, but line {line} of its cell has a {kind}. Use array operations instead.":
        "{name} 不能使用 Python 循环，但它所在单元格的第 {line} 行有一个 {kind}。请改用数组运算。",
    "{name}: answer one of {choices}, got {value!r}": "{name}：请从 {choices} 中选一个作答，实际得到 {value!r}",
    "a whole number (an int)": "一个整数（int）",
    "a finite number": "一个有限的数",
    "{name}: answer {wanted}, got {kind} {value!r}": "{name}：答案应为{wanted}，实际得到 {kind} {value!r}",
    "{name} uses {names}, which this exercise does not allow. Write it with the allowed operations; this cell "
    "scores 0 otherwise.": "{name} 用到了 {names}，本练习不允许使用。请只用允许的运算来写；否则本单元格得 0 分。",
    "{name}: {value!r} is not the right answer": "{name}：{value!r} 不是正确答案",
    "{name}: its source cannot be read, so the operations it uses cannot be checked. Define it with def in its "
    "answer cell; this cell scores 0 otherwise.":
        "{name}：读不到它的源代码，因而无法检查它用到的运算。请在答案单元格里用 def 定义它；否则本单元格得 0 分。",
    # mlcourse.grading.judge
    "{name} cannot be checked: the notebook builds or rebinds names at run time ({how}); graded functions must "
    "be plain definitions":
        "无法检查 {name}：笔记本在运行时构造或重新绑定名字（{how}）；计分的函数必须是普通的定义",
    "no cell": "没有任何单元格",
    "{name} must be defined exactly once, by its def or class in its answer cell; it is bound in {where}":
        "{name} 必须在它的答题单元格里用 def 或 class 定义，并且只定义一次；它现在绑定在 {where}",
    # mlcourse.grading.feedback
    "this test cell was not in your notebook": "你的笔记本里没有这个测试单元格",
    "the cell failed (details withheld)": "这个单元格没有通过（细节不予显示）",
    "{assignment}: feedback for {student}": "{assignment}：给 {student} 的反馈",
    "Score: {score:g} / {max_score:g}": "得分：{score:g} / {max_score:g}",
    "status: {status}": "状态：{status}",
    "test cell": "测试单元格",
    "points": "分数",
    "visible tests": "可见测试",
    "hidden tests": "隐藏测试",
    "{cell}: {points:g} / {max_points:g} points": "{cell}：{points:g} / {max_points:g} 分",
    "Visible tests:": "可见测试：",
    "the visible tests": "可见测试的代码",
    "Hidden tests:": "隐藏测试：",
    "Your answers": "你的答案",
    "passed": "通过",
    "failed": "未通过",
    "not run": "未运行",
    "missing": "缺失",
    "graded by hand": "人工评分",
    "no answer written": "没有写回答",
}
