using System.Text;

namespace MqttIm.ImExtensions.Moderation;

/// <summary>The configured sensitive words: <c>Moderation:SensitiveWords</c> plus the lines of <c>Moderation:SensitiveWordsFile</c>.</summary>
internal static class SensitiveWordList
{
    public static List<string> Load(ModerationOptions options)
    {
        var words = new List<string>();
        foreach (var word in options.SensitiveWords)
        {
            Add(words, word);
        }

        if (!string.IsNullOrWhiteSpace(options.SensitiveWordsFile))
        {
            foreach (var line in File.ReadLines(options.SensitiveWordsFile, Encoding.UTF8))
            {
                if (!line.TrimStart().StartsWith('#'))
                {
                    Add(words, line);
                }
            }
        }

        return words;
    }

    private static void Add(List<string> words, string? word)
    {
        var trimmed = word?.Trim();
        if (!string.IsNullOrEmpty(trimmed))
        {
            words.Add(trimmed);
        }
    }
}
