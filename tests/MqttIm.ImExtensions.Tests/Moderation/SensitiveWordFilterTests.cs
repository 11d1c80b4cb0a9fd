using System.Buffers;
using System.Text;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Protocol;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Moderation;

namespace MqttIm.ImExtensions.Tests.Moderation;

public sealed class SensitiveWordFilterTests
{
    private static readonly AhoCorasickMatcher Words = AhoCorasickMatcher.Build(["badword", "坏词"]);

    [Fact]
    public void MaskMode_StoresTheTextWithStars()
    {
        var filter = new SensitiveWordFilter(Words, SensitiveWordMode.Mask);
        var verdict = filter.Review("a BadWord and 坏词!");
        Assert.False(verdict.Rejected);
        Assert.Equal("a ******* and **!", verdict.Text);
        Assert.Equal("clean", filter.Review("clean").Text);
    }

    [Fact]
    public void RejectMode_RefusesTextWithAWord_AndPassesCleanText()
    {
        var filter = new SensitiveWordFilter(Words, SensitiveWordMode.Reject);
        Assert.True(filter.Review("这是坏词").Rejected);
        var clean = filter.Review("all good");
        Assert.False(clean.Rejected);
        Assert.Equal("all good", clean.Text);
    }

    [Theory]
    [InlineData(SensitiveWordMode.Reject, false, "")]
    [InlineData(SensitiveWordMode.Mask, true, "hi *******")]
    public void SendRequestReader_AppliesTheFilter(SensitiveWordMode mode, bool accepted, string stored)
    {
        var reader = new SendRequestReader(new SensitiveWordFilter(Words, mode), Options.Create(new ChatOptions()));
        var message = new UplinkPublish("im/c2c/bob", new System.Buffers.ReadOnlySequence<byte>("{\"text\":\"hi badword\"}"u8.ToArray()), null, default);

        Assert.Equal(accepted, reader.TryRead(message, out var request, out var rejection));
        if (accepted)
        {
            Assert.Equal(stored, request.Text);
        }
        else
        {
            Assert.Equal("content_rejected", rejection.Code);
            Assert.Equal(MqttPubAckReasonCode.PayloadFormatInvalid, MqttIm.ImExtensions.Hooks.UplinkAnswer.ReasonCodeOf(rejection.Kind));
        }
    }

    [Fact]
    public void WordList_JoinsConfiguredWordsAndFileLines_SkippingCommentsAndBlanks()
    {
        var file = Path.Combine(Path.GetTempPath(), $"mqttim-words-{Guid.NewGuid():N}.txt");
        File.WriteAllText(file, "# a comment\n\n  敏感词  \r\nspam\n   # indented comment\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        try
        {
            var words = SensitiveWordList.Load(new ModerationOptions { SensitiveWords = ["badword", " ", ""], SensitiveWordsFile = file });
            Assert.Equal(["badword", "敏感词", "spam"], words);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void WordList_IsEmptyByDefault()
    {
        Assert.Empty(SensitiveWordList.Load(new ModerationOptions()));
    }
}
