from pathlib import Path

import nbformat
import pytest

from lecture_utils.authoring import count_exercises, exercise_notebook, strip_solutions

SOURCE = """def area(w, h):
    \"\"\"Area of a box.\"\"\"
    # BEGIN SOLUTION
    # HINT: width times height
    return w * h
    # END SOLUTION

x = 1
# BEGIN SOLUTION
y = x + 1
# END SOLUTION"""


def test_blocks_become_stubs_with_hints():
    text, count = strip_solutions(SOURCE)
    assert count == 2
    assert "w * h" not in text and "y = x + 1" not in text
    assert "    raise NotImplementedError('width times height')" in text
    assert "\nraise NotImplementedError('write this part of the exercise')" in text
    assert '"""Area of a box."""' in text and "x = 1" in text
    namespace = {}
    exec(text.split("x = 1")[0], namespace)  # the stubbed function still compiles and fails when called
    with pytest.raises(NotImplementedError, match="width times height"):
        namespace["area"](2, 3)


@pytest.mark.parametrize("bad, message", [("# BEGIN SOLUTION\nx = 1", "never closed"),
                                          ("x = 1\n# END SOLUTION", "without"),
                                          ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "nested")])
def test_malformed_blocks_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        strip_solutions(bad)


def test_notebook_copy_is_stubbed_and_cleared():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# BEGIN SOLUTION in prose stays"),
                                         nbformat.v4.new_code_cell(SOURCE, outputs=[{"output_type": "stream",
                                                                                    "name": "stdout", "text": "x"}])])
    out, count = exercise_notebook(nb)
    assert count == 2 and out.cells[1].outputs == []
    assert out.cells[0].source == nb.cells[0].source
    assert "w * h" in nb.cells[1].source  # the original is untouched


def test_course_notebooks_have_exercises():
    notebooks = sorted(Path(__file__).parents[1].glob("notebooks/0[1-8]_*.ipynb"))
    assert notebooks
    for path in notebooks:
        assert count_exercises(nbformat.read(path, as_version=4)) >= 1, path.name


def test_stubbed_names_on_a_solution_cell():
    # the END marker is a comment after the function's last statement: the solution version must name it too
    source = "def f(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION\n\n\ny = 1\n"
    from lecture_utils.authoring import strip_solutions, stubbed_names

    assert stubbed_names(source) == {"f"}
    assert "raise NotImplementedError" in strip_solutions(source)[0]


def test_every_exercise_has_a_task_sentence_for_the_course_map():
    import nbformat

    from lecture_utils.authoring import exercise_cells, exercise_summaries
    from lecture_utils.runtime import REPO_ROOT

    for path in sorted((REPO_ROOT / "notebooks").glob("0[1-8]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        summaries = exercise_summaries(nb)
        assert len(summaries) == len(exercise_cells(nb)) >= 2
        assert all(s["names"] and len(s["task"]) > 10 for s in summaries), path.name


def test_exercise_summaries_refuse_an_exercise_without_its_task():
    import nbformat
    import pytest

    from lecture_utils.authoring import exercise_summaries

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Some text."),
        nbformat.v4.new_code_cell("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n"),
        nbformat.v4.new_code_cell("assert f() == 1")])
    with pytest.raises(ValueError, match="Упражнение"):
        exercise_summaries(nb)
