"""A small bundled set of HumanEval-style code problems (written for RobustLab): a prompt (a
signature and a docstring with an example), the function's name, a reference solution's body and
assert-based tests. Used by the code-generation probe, its tests and the demo."""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from robustlab.errors import DataError

__all__ = ["PROBLEMS", "CodeProblem", "check_problems", "problems"]


@dataclass(frozen=True)
class CodeProblem:
    """One code problem.

    Attributes:
        task_id: A unique name.
        prompt: The code the model continues: imports, then the signature and docstring of
            ``entry_point``, ending with a newline.
        entry_point: The function the tests call (never renamed by perturbations).
        tests: Python source run after the program (``assert`` lines calling ``entry_point``).
        solution: A reference body (indented) that passes the tests, or "" when unknown.
    """

    task_id: str
    prompt: str
    entry_point: str
    tests: str
    solution: str = ""

    @property
    def reference_program(self) -> str:
        return self.prompt + self.solution


def _p(
    task_id: str, signature: str, doc: str, body: str, tests: str, head: str = ""
) -> CodeProblem:
    entry = signature.split("(")[0].split()[-1]
    doc = textwrap.indent(inspect.cleandoc(doc), "    ")
    prompt = f'{head}def {signature}:\n    """\n{doc}\n    """\n'
    return CodeProblem(
        task_id,
        prompt,
        entry,
        inspect.cleandoc(tests) + "\n",
        textwrap.indent(inspect.cleandoc(body), "    ") + "\n",
    )


PROBLEMS: tuple[CodeProblem, ...] = (
    _p(
        "rl/0_add",
        "add(a: int, b: int) -> int",
        """Return the sum of a and b.
        >>> add(2, 3)
        5""",
        "return a + b",
        "assert add(2, 3) == 5\nassert add(-1, 1) == 0\nassert add(0, 0) == 0",
    ),
    _p(
        "rl/1_is_palindrome",
        "is_palindrome(text: str) -> bool",
        """Return True when text reads the same forwards and backwards.
        >>> is_palindrome('level')
        True""",
        "return text == text[::-1]",
        """assert is_palindrome('level')
        assert not is_palindrome('ab')
        assert is_palindrome('')""",
    ),
    _p(
        "rl/2_count_vowels",
        "count_vowels(word: str) -> int",
        """Count the vowels (a, e, i, o, u, in any case) in the given word.
        >>> count_vowels('Banana')
        3""",
        "return sum(ch in 'aeiou' for ch in word.lower())",
        """assert count_vowels('Banana') == 3
        assert count_vowels('xyz') == 0
        assert count_vowels('AEIOU') == 5""",
    ),
    _p(
        "rl/3_max_element",
        "max_element(numbers: List[int]) -> int",
        """Return the largest number in a non-empty list.
        >>> max_element([1, 5, 3])
        5""",
        """best = numbers[0]
        for n in numbers[1:]:
            if n > best:
                best = n
        return best""",
        """assert max_element([1, 5, 3]) == 5
        assert max_element([-4, -2, -9]) == -2
        assert max_element([7]) == 7""",
        head="from typing import List\n\n\n",
    ),
    _p(
        "rl/4_factorial",
        "factorial(n: int) -> int",
        """Return n! for a non-negative integer n.
        >>> factorial(5)
        120""",
        """result = 1
        for i in range(2, n + 1):
            result *= i
        return result""",
        "assert factorial(0) == 1\nassert factorial(5) == 120\nassert factorial(10) == 3628800",
    ),
    _p(
        "rl/5_fibonacci",
        "fibonacci(n: int) -> int",
        """Return the n-th Fibonacci number, with fibonacci(0) == 0 and fibonacci(1) == 1.
        >>> fibonacci(10)
        55""",
        """a, b = 0, 1
        for _ in range(n):
            a, b = b, a + b
        return a""",
        "assert fibonacci(0) == 0\nassert fibonacci(1) == 1\nassert fibonacci(10) == 55",
    ),
    _p(
        "rl/6_reverse_words",
        "reverse_words(sentence: str) -> str",
        """Return the words of the sentence in reverse order, separated by single spaces.
        >>> reverse_words('hello big world')
        'world big hello'""",
        "return ' '.join(reversed(sentence.split()))",
        """assert reverse_words('hello big world') == 'world big hello'
        assert reverse_words('one') == 'one'
        assert reverse_words('  a   b ') == 'b a'""",
    ),
    _p(
        "rl/7_unique_sorted",
        "unique_sorted(values: List[int]) -> List[int]",
        """Return the distinct values of the list in increasing order.
        >>> unique_sorted([3, 1, 3, 2])
        [1, 2, 3]""",
        "return sorted(set(values))",
        """assert unique_sorted([3, 1, 3, 2]) == [1, 2, 3]
        assert unique_sorted([]) == []
        assert unique_sorted([5, 5]) == [5]""",
        head="from typing import List\n\n\n",
    ),
    _p(
        "rl/8_is_prime",
        "is_prime(n: int) -> bool",
        """Return True if n is a prime number.
        >>> is_prime(7)
        True""",
        """if n < 2:
            return False
        i = 2
        while i * i <= n:
            if n % i == 0:
                return False
            i += 1
        return True""",
        """assert is_prime(7) and is_prime(2) and is_prime(97)
        assert not is_prime(1) and not is_prime(0) and not is_prime(91)""",
    ),
    _p(
        "rl/9_gcd",
        "gcd(a: int, b: int) -> int",
        """Return the greatest common divisor of two positive integers.
        >>> gcd(12, 18)
        6""",
        """while b:
            a, b = b, a % b
        return a""",
        "assert gcd(12, 18) == 6\nassert gcd(7, 13) == 1\nassert gcd(10, 5) == 5",
    ),
    _p(
        "rl/10_running_sum",
        "running_sum(numbers: List[int]) -> List[int]",
        """Return the running totals of the list.
        >>> running_sum([1, 2, 3])
        [1, 3, 6]""",
        """total = 0
        out = []
        for x in numbers:
            total += x
            out.append(total)
        return out""",
        """assert running_sum([1, 2, 3]) == [1, 3, 6]
        assert running_sum([]) == []
        assert running_sum([5, -5]) == [5, 0]""",
        head="from typing import List\n\n\n",
    ),
    _p(
        "rl/11_count_words",
        "count_words(text: str) -> Dict[str, int]",
        """Count how often each lower-cased word occurs in the text.
        >>> count_words('a b A')
        {'a': 2, 'b': 1}""",
        """counts = {}
        for word in text.lower().split():
            counts[word] = counts.get(word, 0) + 1
        return counts""",
        """assert count_words('a b A') == {'a': 2, 'b': 1}
        assert count_words('') == {}""",
        head="from typing import Dict\n\n\n",
    ),
    _p(
        "rl/12_flatten",
        "flatten(nested: List[List[int]]) -> List[int]",
        """Concatenate the inner lists into one list, keeping their order.
        >>> flatten([[1, 2], [3], []])
        [1, 2, 3]""",
        "return [x for inner in nested for x in inner]",
        """assert flatten([[1, 2], [3], []]) == [1, 2, 3]
        assert flatten([]) == []""",
        head="from typing import List\n\n\n",
    ),
    _p(
        "rl/13_capitalize_words",
        "capitalize_words(sentence: str) -> str",
        """Upper-case the first letter of every word of the sentence.
        >>> capitalize_words('good morning')
        'Good Morning'""",
        "return ' '.join(w[:1].upper() + w[1:] for w in sentence.split(' '))",
        """assert capitalize_words('good morning') == 'Good Morning'
        assert capitalize_words('a') == 'A'""",
    ),
    _p(
        "rl/14_second_largest",
        "second_largest(numbers: List[int]) -> int",
        """Return the second largest distinct value of a list with at least two distinct values.
        >>> second_largest([4, 1, 4, 3])
        3""",
        "return sorted(set(numbers))[-2]",
        """assert second_largest([4, 1, 4, 3]) == 3
        assert second_largest([1, 2]) == 1""",
        head="from typing import List\n\n\n",
    ),
    _p(
        "rl/15_digit_sum",
        "digit_sum(n: int) -> int",
        """Return the sum of the decimal digits of a non-negative integer.
        >>> digit_sum(1234)
        10""",
        "return sum(int(d) for d in str(n))",
        "assert digit_sum(1234) == 10\nassert digit_sum(0) == 0\nassert digit_sum(99) == 18",
    ),
    _p(
        "rl/16_is_anagram",
        "is_anagram(first: str, second: str) -> bool",
        """Return True when the two words use the same letters the same number of times.
        >>> is_anagram('listen', 'silent')
        True""",
        "return sorted(first) == sorted(second)",
        """assert is_anagram('listen', 'silent')
        assert not is_anagram('abc', 'abd')
        assert not is_anagram('aa', 'a')""",
    ),
    _p(
        "rl/17_chunk",
        "chunk(items: List[int], size: int) -> List[List[int]]",
        """Split the list into consecutive pieces of the given size; the last may be shorter.
        >>> chunk([1, 2, 3, 4, 5], 2)
        [[1, 2], [3, 4], [5]]""",
        "return [items[i : i + size] for i in range(0, len(items), size)]",
        """assert chunk([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
        assert chunk([], 3) == []
        assert chunk([1, 2], 5) == [[1, 2]]""",
        head="from typing import List\n\n\n",
    ),
    _p(
        "rl/18_celsius",
        "to_fahrenheit(celsius: float) -> float",
        """Convert a temperature from degrees Celsius to degrees Fahrenheit.
        >>> to_fahrenheit(100)
        212.0""",
        "return celsius * 9 / 5 + 32",
        """assert to_fahrenheit(100) == 212.0
        assert to_fahrenheit(0) == 32.0
        assert abs(to_fahrenheit(-40) + 40) < 1e-9""",
    ),
    _p(
        "rl/19_remove_duplicates",
        "remove_duplicates(values: List[str]) -> List[str]",
        """Remove repeated values, keeping the first occurrence of each, in order.
        >>> remove_duplicates(['b', 'a', 'b'])
        ['b', 'a']""",
        """seen = set()
        out = []
        for v in values:
            if v not in seen:
                seen.add(v)
                out.append(v)
        return out""",
        """assert remove_duplicates(['b', 'a', 'b']) == ['b', 'a']
        assert remove_duplicates([]) == []""",
        head="from typing import List\n\n\n",
    ),
    _p(
        "rl/20_binary",
        "to_binary(n: int) -> str",
        """Return the binary digits of a non-negative integer, without a prefix.
        >>> to_binary(5)
        '101'""",
        """if n == 0:
            return '0'
        digits = ''
        while n:
            digits = str(n % 2) + digits
            n //= 2
        return digits""",
        "assert to_binary(5) == '101'\nassert to_binary(0) == '0'\nassert to_binary(8) == '1000'",
    ),
    _p(
        "rl/21_mean",
        "mean(numbers: List[float]) -> float",
        """Return the arithmetic mean of a non-empty list of numbers.
        >>> mean([1.0, 2.0, 3.0])
        2.0""",
        "return sum(numbers) / len(numbers)",
        """assert mean([1.0, 2.0, 3.0]) == 2.0
        assert mean([5]) == 5""",
        head="from typing import List\n\n\n",
    ),
    _p(
        "rl/22_longest_word",
        "longest_word(sentence: str) -> str",
        """Return the longest word of the sentence (the first one on ties).
        >>> longest_word('a quick brown fox')
        'quick'""",
        """best = ''
        for word in sentence.split():
            if len(word) > len(best):
                best = word
        return best""",
        """assert longest_word('a quick brown fox') == 'quick'
        assert longest_word('hi') == 'hi'""",
    ),
    _p(
        "rl/23_matrix_transpose",
        "transpose(matrix: List[List[int]]) -> List[List[int]]",
        """Return the transpose of a rectangular matrix given as a list of rows.
        >>> transpose([[1, 2, 3], [4, 5, 6]])
        [[1, 4], [2, 5], [3, 6]]""",
        "return [list(row) for row in zip(*matrix)]",
        """assert transpose([[1, 2, 3], [4, 5, 6]]) == [[1, 4], [2, 5], [3, 6]]
        assert transpose([[1]]) == [[1]]""",
        head="from typing import List\n\n\n",
    ),
)


def check_problems(items: Sequence[CodeProblem]) -> list[CodeProblem]:
    """``items`` as a list after checking ids are unique and each prompt defines its function."""
    out = list(items)
    if not out:
        raise DataError("No code problems were given; pass at least one CodeProblem.")
    seen: set[str] = set()
    for p in out:
        if not isinstance(p, CodeProblem):
            raise DataError(f"Code problems must be CodeProblem objects. Got {type(p).__name__}.")
        if p.task_id in seen:
            raise DataError(f"Code problem id {p.task_id!r} appears twice; ids must be unique.")
        seen.add(p.task_id)
        if f"def {p.entry_point}(" not in p.prompt:
            raise DataError(
                f"Code problem {p.task_id!r}: its prompt defines no function {p.entry_point!r}."
            )
    return out


def problems(n: int | None = None) -> list[CodeProblem]:
    """The bundled problems (the first ``n``)."""
    return list(PROBLEMS[:n] if n is not None else PROBLEMS)
