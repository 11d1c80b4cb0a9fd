namespace MqttIm.ImExtensions.Moderation;

/// <summary>
/// Finds any of many words in a text in one pass (Aho–Corasick), ignoring case (per-character invariant lower case,
/// so CJK and other scripts match as written). Built once; scanning allocates nothing, masking only the result string.
/// </summary>
internal sealed class AhoCorasickMatcher
{
    private const int Root = 0;

    // State s has the outgoing edges _edgeChars/_edgeTargets[_edgeStart[s] .. _edgeStart[s + 1]), sorted by char.
    private readonly int[] _edgeStart;
    private readonly char[] _edgeChars;
    private readonly int[] _edgeTargets;
    private readonly int[] _fail;

    // Length of the longest word that ends in this state, following failure links (0 = none); shorter matches ending at
    // the same character are suffixes of it, so masking the longest covers them all.
    private readonly int[] _matchLength;

    private AhoCorasickMatcher(int[] edgeStart, char[] edgeChars, int[] edgeTargets, int[] fail, int[] matchLength, int wordCount)
    {
        _edgeStart = edgeStart;
        _edgeChars = edgeChars;
        _edgeTargets = edgeTargets;
        _fail = fail;
        _matchLength = matchLength;
        WordCount = wordCount;
    }

    /// <summary>Distinct non-empty words in the automaton.</summary>
    public int WordCount { get; }

    public static AhoCorasickMatcher Build(IEnumerable<string> words)
    {
        // Trie with per-state child maps; compacted into sorted arrays after the failure links are known.
        var children = new List<Dictionary<char, int>> { new() };
        var length = new List<int> { 0 };
        var wordCount = 0;
        foreach (var word in words)
        {
            if (string.IsNullOrEmpty(word))
            {
                continue;
            }

            var state = Root;
            foreach (var c in word)
            {
                var folded = Fold(c);
                if (!children[state].TryGetValue(folded, out var next))
                {
                    next = children.Count;
                    children.Add(new Dictionary<char, int>());
                    length.Add(0);
                    children[state].Add(folded, next);
                }

                state = next;
            }

            if (length[state] == 0)
            {
                wordCount++;
            }

            length[state] = word.Length;
        }

        var count = children.Count;
        var fail = new int[count];
        var matchLength = length.ToArray();
        var queue = new Queue<int>();
        foreach (var child in children[Root].Values)
        {
            queue.Enqueue(child);
        }

        while (queue.Count > 0)
        {
            var state = queue.Dequeue();
            matchLength[state] = Math.Max(matchLength[state], matchLength[fail[state]]);
            foreach (var (c, child) in children[state])
            {
                var f = fail[state];
                int target;
                while (!children[f].TryGetValue(c, out target) && f != Root)
                {
                    f = fail[f];
                }

                fail[child] = children[f].TryGetValue(c, out target) && target != child ? target : Root;
                queue.Enqueue(child);
            }
        }

        var edgeStart = new int[count + 1];
        var edgeChars = new char[count - 1];
        var edgeTargets = new int[count - 1];
        var edge = 0;
        for (var state = 0; state < count; state++)
        {
            edgeStart[state] = edge;
            foreach (var (c, child) in children[state].OrderBy(pair => pair.Key))
            {
                edgeChars[edge] = c;
                edgeTargets[edge] = child;
                edge++;
            }
        }

        edgeStart[count] = edge;
        return new AhoCorasickMatcher(edgeStart, edgeChars, edgeTargets, fail, matchLength, wordCount);
    }

    /// <summary>Whether any word occurs in the text.</summary>
    public bool ContainsAny(ReadOnlySpan<char> text) => FirstMatchEnd(text) >= 0;

    /// <summary>The text with every character of every match (overlapping ones included) replaced by <paramref name="mask"/>; the same instance when nothing matches.</summary>
    public string Mask(string text, char mask = '*')
    {
        var first = FirstMatchEnd(text);
        if (first < 0)
        {
            return text;
        }

        return string.Create(text.Length, (Matcher: this, Text: text, Mask: mask), static (span, s) =>
        {
            s.Text.AsSpan().CopyTo(span);
            // [runStart, maskedEnd) is the last contiguous masked run; matches arrive by increasing end, so each new
            // one only needs the parts outside that run filled (a later, longer match may start before the run).
            var state = Root;
            var runStart = 0;
            var maskedEnd = 0;
            for (var i = 0; i < s.Text.Length; i++)
            {
                state = s.Matcher.Step(state, Fold(s.Text[i]));
                var matched = s.Matcher._matchLength[state];
                if (matched > 0)
                {
                    var start = i + 1 - matched;
                    if (start > maskedEnd)
                    {
                        runStart = start;
                    }

                    if (start < runStart)
                    {
                        span[start..runStart].Fill(s.Mask);
                        runStart = start;
                    }

                    span[Math.Max(start, maskedEnd)..(i + 1)].Fill(s.Mask);
                    maskedEnd = i + 1;
                }
            }
        });
    }

    private int FirstMatchEnd(ReadOnlySpan<char> text)
    {
        var state = Root;
        for (var i = 0; i < text.Length; i++)
        {
            state = Step(state, Fold(text[i]));
            if (_matchLength[state] > 0)
            {
                return i;
            }
        }

        return -1;
    }

    private int Step(int state, char c)
    {
        while (true)
        {
            var next = Edge(state, c);
            if (next >= 0)
            {
                return next;
            }

            if (state == Root)
            {
                return Root;
            }

            state = _fail[state];
        }
    }

    private int Edge(int state, char c)
    {
        var index = _edgeChars.AsSpan(_edgeStart[state], _edgeStart[state + 1] - _edgeStart[state]).BinarySearch(c);
        return index >= 0 ? _edgeTargets[_edgeStart[state] + index] : -1;
    }

    private static char Fold(char c) => char.ToLowerInvariant(c);
}
