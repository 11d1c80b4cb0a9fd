using System.Text;
using MqttIm.ImExtensions.Moderation;

namespace MqttIm.ImExtensions.Tests.Moderation;

public sealed class AhoCorasickMatcherTests
{
    private static string Mask(string text, params string[] words) => AhoCorasickMatcher.Build(words).Mask(text);

    [Theory]
    [InlineData("xabcdx", "x****x", new[] { "abc", "bcd" })]
    [InlineData("ushers", "u*****", new[] { "he", "she", "his", "hers" })]
    [InlineData("aaaa", "****", new[] { "aa" })]
    [InlineData("abcab", "*****", new[] { "abc", "cab" })]
    [InlineData("xbcx", "x**x", new[] { "abcd", "bc" })]
    [InlineData("ababdfae", "****dfa*", new[] { "b", "e", "g", "aba" })] // a longer match starting before an earlier masked one
    public void OverlappingMatches_AreMaskedEntirely(string text, string expected, string[] words)
    {
        Assert.Equal(expected, Mask(text, words));
    }

    [Fact]
    public void Matching_IgnoresCase_BothInWordsAndText()
    {
        Assert.Equal("this is ******* ok", Mask("this is BADWORD ok", "badword"));
        Assert.Equal("*******", Mask("badword", "BadWord"));
        Assert.Equal("ÉCOLE → *****", Mask("ÉCOLE → Évite", "éVITE"));
    }

    [Fact]
    public void CjkWords_AreFoundAndMaskedPerCharacter()
    {
        Assert.Equal("这是**吗？", Mask("这是坏词吗？", "坏词"));
        Assert.Equal("***，好词", Mask("坏坏词，好词", "坏词", "坏坏"));
        Assert.True(AhoCorasickMatcher.Build(["敏感"]).ContainsAny("有敏感内容"));
        Assert.False(AhoCorasickMatcher.Build(["敏感"]).ContainsAny("敏 感"));
    }

    [Fact]
    public void WordThatIsAPrefixOfAnother_MatchesOnItsOwnAndInsideTheLonger()
    {
        var matcher = AhoCorasickMatcher.Build(["bad", "badword"]);
        Assert.Equal("*** word ***wrd ***w", matcher.Mask("bad word badwrd badw"));
        Assert.Equal("*******", matcher.Mask("badword"));
        Assert.True(matcher.ContainsAny("ba bad"));
        Assert.False(matcher.ContainsAny("ba ba d"));
    }

    [Fact]
    public void NoMatch_ReturnsTheSameInstance_AndEmptyWordsAreIgnored()
    {
        var matcher = AhoCorasickMatcher.Build(["", "foo", "foo", "bar"]);
        var text = "nothing to see here";
        Assert.Same(text, matcher.Mask(text));
        Assert.Equal(2, matcher.WordCount);
        Assert.False(AhoCorasickMatcher.Build([]).ContainsAny("anything"));
        Assert.Equal("", matcher.Mask(""));
    }

    [Fact]
    public void ThousandsOfRandomWords_AgreeWithANaiveMatcher_OnLongRandomText()
    {
        var random = new Random(20240611);
        const string alphabet = "abcdefghijklmnopABCDEFGHIJKLMNOP坏词敏感";
        var words = Enumerable.Range(0, 5000).Select(_ => RandomString(random, alphabet, random.Next(3, 9))).ToList();
        var matcher = AhoCorasickMatcher.Build(words);

        var text = RandomString(random, alphabet + "  ,.", 10 * 1024);
        var expected = NaiveMask(text, words);
        Assert.Contains('*', expected);
        Assert.NotEqual(text, expected);
        Assert.Equal(expected, matcher.Mask(text));

        for (var i = 0; i < 2000; i++)
        {
            var shortText = RandomString(random, alphabet, random.Next(0, 12));
            var naive = NaiveMask(shortText, words);
            Assert.Equal(naive, matcher.Mask(shortText));
            Assert.Equal(naive != shortText, matcher.ContainsAny(shortText));
        }
    }

    private static string RandomString(Random random, string alphabet, int length)
    {
        var builder = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            builder.Append(alphabet[random.Next(alphabet.Length)]);
        }

        return builder.ToString();
    }

    /// <summary>Every occurrence of every word, compared character by character in invariant lower case.</summary>
    private static string NaiveMask(string text, IReadOnlyList<string> words)
    {
        var lower = text.ToLowerInvariant();
        var covered = new bool[text.Length];
        foreach (var word in words.Select(w => w.ToLowerInvariant()).Distinct())
        {
            for (var at = lower.IndexOf(word, StringComparison.Ordinal); at >= 0; at = lower.IndexOf(word, at + 1, StringComparison.Ordinal))
            {
                Array.Fill(covered, true, at, word.Length);
            }
        }

        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (covered[i])
            {
                chars[i] = '*';
            }
        }

        return new string(chars);
    }
}
