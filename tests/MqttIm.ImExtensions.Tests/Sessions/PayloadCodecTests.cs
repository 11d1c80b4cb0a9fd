using System.Buffers;
using System.Text;
using Google.Protobuf;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Sessions;
using WireFormat = MqttIm.ImExtensions.Sessions.WireFormat;

namespace MqttIm.ImExtensions.Tests.Sessions;

public sealed class PayloadCodecTests
{
    private static ReadOnlySequence<byte> Bytes(string s) => new(Encoding.UTF8.GetBytes(s));

    [Theory]
    [InlineData("{\"text\":\"hi\"}", null, WireFormat.Json)]
    [InlineData("  \n {\"text\":\"hi\"}", null, WireFormat.Json)]
    [InlineData("{\"text\":\"hi\"}", "application/x-protobuf", WireFormat.Protobuf)]
    [InlineData("x", "application/json; charset=utf-8", WireFormat.Json)]
    public void Detect_ContentTypeWins_ElseSniffsFirstByte(string payload, string? contentType, WireFormat expected)
    {
        Assert.Equal(expected, PayloadCodec.Detect(Bytes(payload), contentType));
    }

    [Fact]
    public void Decode_BothFormats_YieldTheSameMessage()
    {
        var request = new SendRequest { ClientMsgId = "m1", Text = "héllo", Data = ByteString.CopyFrom(1, 2), Ext = { ["k"] = "v" } };
        var proto = new ReadOnlySequence<byte>(request.ToByteArray());
        var json = Bytes(JsonFormatter.Default.Format(request));

        Assert.True(PayloadCodec.TryDecode(SendRequest.Parser, proto, PayloadCodec.Detect(proto, null), out var fromProto, out _));
        Assert.True(PayloadCodec.TryDecode(SendRequest.Parser, json, PayloadCodec.Detect(json, null), out var fromJson, out _));
        Assert.Equal(request, fromProto);
        Assert.Equal(request, fromJson);
    }

    [Theory]
    [InlineData("{\"txt\":\"typo\"}", "txt")]
    [InlineData("{\"text\":", "")]
    [InlineData("{\"text\": 5}", "")]
    public void Decode_BadJson_ExplainsWhy(string payload, string mentioned)
    {
        Assert.False(PayloadCodec.TryDecode(SendRequest.Parser, Bytes(payload), WireFormat.Json, out _, out var error));
        Assert.Contains(mentioned, error);
        Assert.Contains("SendRequest", error);
    }

    [Fact]
    public void Decode_GarbageProtobuf_IsRefused()
    {
        Assert.False(PayloadCodec.TryDecode(SendRequest.Parser, new ReadOnlySequence<byte>([0xFF, 0xFF, 0xFF]), WireFormat.Protobuf, out _, out _));
    }

    [Fact]
    public void OutboundEvent_EncodesOncePerFormat()
    {
        var outbound = new OutboundEvent(new InboxEvent { Message = new ChatMessage { Seq = 7, Text = "x" } });

        Assert.Same(outbound.Payload(WireFormat.Json), outbound.Payload(WireFormat.Json));
        Assert.Contains("\"seq\": \"7\"", Encoding.UTF8.GetString(outbound.Payload(WireFormat.Json)));
        Assert.Equal(7, InboxEvent.Parser.ParseFrom(outbound.Payload(WireFormat.Protobuf)).Message.Seq);
    }

    /// <summary>The per-thread builder path writes exactly what <c>JsonFormatter.Format</c> writes, for short, long and non-ASCII texts, one after another.</summary>
    [Fact]
    public void Encode_Json_IsByteForByteWhatTheFormatterWrites_AcrossReusesOfTheThreadsBuilder()
    {
        var formatter = new JsonFormatter(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));
        string[] texts =
        [
            "hi",
            "héllo \"quoted\" <tag> & 'single' \\ back\nslash\t tab \u2028",
            "emoji 😀 at the end of a long line " + new string('x', 9_000) + " 😀", // longer than one builder chunk
            new string('é', 20_000), // past the builder the thread keeps
            "short again 漢字",
        ];
        foreach (var text in texts)
        {
            var message = new InboxEvent
            {
                Message = new ChatMessage { ConversationId = "c2c:a:b", Seq = 42, Text = text, ServerTimeMs = 1_700_000_000_000, Ext = { ["k"] = text[..Math.Min(5, text.Length)] } },
            };

            Assert.Equal(Encoding.UTF8.GetBytes(formatter.Format(message)), PayloadCodec.Encode(message, WireFormat.Json));
        }
    }
}
