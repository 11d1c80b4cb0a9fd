using MqttIm.ImExtensions.Messaging;

namespace MqttIm.ImExtensions.Moderation;

/// <summary>The <see cref="IContentFilter"/> for configured sensitive words: refuses the text or masks each matched character.</summary>
internal sealed class SensitiveWordFilter(AhoCorasickMatcher matcher, SensitiveWordMode mode) : IContentFilter
{
    public const char MaskCharacter = '*';

    public ContentVerdict Review(string text) => mode switch
    {
        SensitiveWordMode.Mask => ContentVerdict.Pass(matcher.Mask(text, MaskCharacter)),
        _ => matcher.ContainsAny(text) ? ContentVerdict.Reject("the text contains a blocked word") : ContentVerdict.Pass(text),
    };
}
