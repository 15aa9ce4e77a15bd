"""The [[claims]] vocabulary of a space file: one-line errors, the shipped spaces' claims."""


import pytest

from tests.helpers.claims_study import (
    space_with,
)
from tuner.common.errors import UsageError
from tuner.spaces.space import load_space


@pytest.mark.parametrize("claims_text, message", [
    ('[[claims]]\nkind = "better"\na = {image_size = 32}\nb = {image_size = 16}\n',
     "[[claims]] #1 needs `text = \"...\"`"),
    ('[[claims]]\ntext = "x"\nkind = "faster"\n',
     "[[claims]] #1 check 1 kind must be one of better, best, similar, diverges, plateau, "
     "increases, got 'faster'"),
    ('[[claims]]\nid = "a"\ntext = "x"\nkind = "better"\na = {image_size = 32}\n',
     "[[claims]] id 'a' check 1 (better) needs 'b'"),
    ('[[claims]]\ntext = "x"\nkind = ["best"]\n',
     "[[claims]] #1 check 1 kind must be one of better, best, similar, diverges, plateau, "
     "increases, got ['best']"),
    ('[[claims]]\ntext = "x"\nkind = "best"\nparam = ["learning_rate"]\nvalue = 1\n',
     "[[claims]] #1 check 1 param must be one of learning_rate, beta_1, image_size, "
     "subset_fraction, got ['learning_rate']"),
    ('[[claims]]\ntext = "x"\nkind = "best"\nparam = "lr"\nvalue = 1\n',
     "[[claims]] #1 check 1 param must be one of learning_rate, beta_1, image_size, "
     "subset_fraction, got 'lr'"),
    ('[[claims]]\ntext = "x"\nkind = "best"\nparam = "image_size"\nvalue = 48\n',
     "[[claims]] #1 check 1 value image_size must be a power of two"),
    ('[[claims]]\ntext = "x"\nkind = "plateau"\nafter_epoch = 40\nmetric = "fid"\n',
     "[[claims]] #1 check 1 metric must be one of kid, fd, swd, kid_heldout, fd_heldout, eye, "
     "got 'fid'"),
    ('[[claims]]\ntext = "x"\nkind = "plateau"\nafter_epoch = 40\nepochs = 3\n',
     "[[claims]] #1 check 1 (plateau) unknown key 'epochs'"),
    ('[[claims]]\ntext = "x"\nkind = "diverges"\n',
     "[[claims]] #1 check 1 (diverges) needs `where = {...}`"),
    ('[[claims]]\ntext = "x"\nkind = "better"\na = {lr = 1}\nb = {image_size = 16}\n',
     "[[claims]] #1 check 1 a unknown hyperparameter 'lr'"),
    ('[[claims]]\ntext = "x"\nkind = "similar"\nparam = "learning_rate"\nvalues = [1e-4]\n',
     "values must list at least two values of learning_rate"),
    ('[[claims]]\nid = "1"\ntext = "x"\nkind = "diverges"\nwhere = {learning_rate = 1}\n'
     '[[claims]]\nid = "1"\ntext = "y"\nkind = "diverges"\nwhere = {learning_rate = 1}\n',
     "two claims have id '1'"),
    ('[[claims]]\ntext = "x"\nkind = "plateau"\nafter_epoch = 4\n[[claims.checks]]\n'
     'kind = "plateau"\nafter_epoch = 3\n', "gives both [[claims.checks]] and an inline check"),
])
def test_a_bad_claim_is_one_line_naming_the_file_and_entry(tmp_path, claims_text, message):
    path = space_with(tmp_path, claims_text)
    with pytest.raises(UsageError) as err:
        load_space(str(path))
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


C = '[[claims]]\nid = "c"\ntext = "x"\n'


@pytest.mark.parametrize("claims_text, message", [
    (C + 'kind = "better"\na = {image_size = 32}\nb = {image_size = 32}\n',
     "[[claims]] id 'c' check 1 (better) a and b must differ in a hyperparameter they both name"),
    (C + 'kind = "better"\na = {image_size = 32}\nb = {learning_rate = 1e-4}\n',
     "check 1 (better) a and b must differ in a hyperparameter they both name"),
    (C + 'kind = "better"\na = {learning_rate = 2e-4}\nb = {learning_rate = 2.0e-4}\n',
     "a and b must differ"),
    (C + 'kind = "better"\na = {image_size = 32}\nb = {image_size = 16}\n'
         'where = {image_size = 16}\n',
     "check 1 (better) a sets image_size = 32 but where fixes it at 16, so nothing can match "
     "both; drop one of them"),
    (C + 'where = {image_size = 16}\n[[claims.checks]]\nkind = "plateau"\nafter_epoch = 2\n'
         'where = {image_size = 32}\n',
     "check 1 where sets image_size = 32 but the claim's where fixes it at 16"),
    (C + 'kind = "best"\nparam = "image_size"\nvalue = 32\nwhere = {image_size = 32}\n',
     "check 1 (best) where fixes image_size, the hyperparameter the check compares, so it has "
     "one value to compare; drop image_size from where"),
    (C + 'kind = "increases"\nparam = "image_size"\nquantity = "kid"\n'
         'where = {image_size = 32}\n', "(increases) where fixes image_size"),
    (C + 'kind = "similar"\nparam = "learning_rate"\nvalues = [2e-4, 5e-4]\n'
         'where = {learning_rate = 2e-4}\n', "(similar) where fixes learning_rate"),
    (C + 'kind = "similar"\nparam = "learning_rate"\nvalues = [2e-4, 0.0002]\n',
     "check 1 (similar) values list learning_rate = 0.0002 twice; list each value once"),
    (C + 'kind = "similar"\nparam = "learning_rate"\nvalues = [1e-4, 2e-4, 1e-4]\n',
     "values list learning_rate = 0.0001 twice"),
    (C + '[[claims.checks]]\nkind = "plateau"\nafter_epoch = 2\n'
         '[[claims.checks]]\nkind = "plateau"\nafter_epoch = 2\n',
     "[[claims]] id 'c' check 2 repeats check 1; state each check once"),
    (C + 'kind = "better"\na = {image_size = 32}\nb = ' + '{a = ' * 20 + '1' + '}' * 20 + '\n',
     "tables or arrays nested more than 16 deep"),
    (C + 'kind = "better"\na = {image_size = 32}\nb = ' + '[' * 3000 + '1' + ']' * 3000 + '\n',
     "tables or arrays nested more than 16 deep"),
    (C + 'kind = "plateau"\nafter_epoch = "' + 'x' * 500 + '"\n',
     "after_epoch must be a positive whole number of epochs, got 'xxxx"),
])
def test_a_check_that_compares_a_configuration_with_itself_is_refused(tmp_path, claims_text,
                                                                       message):
    path = space_with(tmp_path, claims_text)
    with pytest.raises(UsageError) as err:
        load_space(str(path))
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value) and len(str(err.value)) < 400


def test_a_where_repeating_a_side_or_the_claims_is_fine(tmp_path):
    path = space_with(tmp_path, C + 'where = {image_size = 32}\n[[claims.checks]]\n'
                                    'kind = "better"\na = {learning_rate = 1e-4, image_size = 32}\n'
                                    'b = {learning_rate = 2e-4}\nwhere = {image_size = 32}\n')
    (claim,) = load_space(str(path)).claims
    assert claim.checks[0].where == {"image_size": 32}


def test_the_shipped_spaces_state_the_labs_five_claims():
    for name in ("lab", "lab-mini"):
        space = load_space(name)
        assert [c.id for c in space.claims] == ["1", "2", "3", "4", "5"]
        assert [[check.kind for check in c.checks] for c in space.claims] == [
            ["better"], ["plateau"], ["best"], ["best", "similar", "diverges"], ["increases"]]


def test_one_at_a_time_runs_the_baseline_then_each_value_alone():
    space = load_space("lab-mini")
    designs = space.configurations()
    assert designs[0] == {"learning_rate": 2e-4, "beta_1": 0.5, "image_size": 32,
                          "subset_fraction": 1.0}
    assert len(designs) == 1 + 3 + 2 + 1 == space.max_trials
    for design in designs[1:]:
        assert sum(design[k] != designs[0][k] for k in design) == 1
