using System.Globalization;
using System.Text.RegularExpressions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Rooms;

/// <summary>A test viewer of one room: an MQTTnet client subscribed to <c>room/{roomId}</c>, decoding every frame.</summary>
internal sealed partial class RoomViewerProbe : IAsyncDisposable
{
    private RoomViewerProbe(TestDevice device, string roomId)
    {
        Device = device;
        RoomId = roomId;
    }

    public TestDevice Device { get; }

    public string RoomId { get; }

    public static async Task<RoomViewerProbe> JoinAsync(BrokerProcess broker, string roomId, string? userId = null,
        MqttProtocolVersion version = MqttProtocolVersion.V500, bool protobuf = false,
        MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtLeastOnce, Transport transport = Transport.Tcp)
    {
        var device = await TestDevice.ConnectAsync(broker, userId ?? TestUsers.Unique("viewer"), version: version, transport: transport, protobuf: protobuf);
        var probe = new RoomViewerProbe(device, roomId);
        var result = await device.Client.SubscribeAsync($"room/{roomId}", qos);
        var code = result.Items.Single().ResultCode;
        if (code > MqttClientSubscribeResultCode.GrantedQoS2)
        {
            await device.DisposeAsync();
            throw new InvalidOperationException($"join of room {roomId} refused: {code}");
        }

        return probe;
    }

    /// <summary>The next room frame (inbox traffic is skipped).</summary>
    public async Task<RoomFrame> NextFrameAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var message = await Device.NextAsync(deadline - DateTime.UtcNow);
            if (message.Topic == $"room/{RoomId}")
            {
                return TestDevice.Decode(RoomFrame.Parser, message);
            }
        }
    }

    /// <summary>Frames until <paramref name="done"/> says the collected ones suffice, within the timeout.</summary>
    public async Task<List<RoomFrame>> CollectAsync(Func<List<RoomFrame>, bool> done, TimeSpan timeout)
    {
        var frames = new List<RoomFrame>();
        var deadline = DateTime.UtcNow + timeout;
        while (!done(frames))
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"{Device.ClientId}: after {frames.Count} frames the condition still did not hold");
            }

            frames.Add(await NextFrameAsync(left));
        }

        return frames;
    }

    public Task<MqttClientPublishResult> SendAsync(RoomSend send) => Device.PublishAsync($"room/{RoomId}", Device.Encode(send));

    public ValueTask DisposeAsync() => Device.DisposeAsync();

    public static IEnumerable<RoomMessage> Messages(IEnumerable<RoomFrame> frames, string kind) =>
        frames.SelectMany(f => f.Messages).Where(m => m.Kind == kind);

    /// <summary>One counter or gauge from the broker's <c>/metrics</c>.</summary>
    public static async Task<double> MetricAsync(BrokerProcess broker, string name)
    {
        using var http = broker.Http();
        var text = await http.GetStringAsync("/metrics");
        var match = Regex.Match(text, $"^{Regex.Escape(name)} (\\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>Polls the admin API until the room's viewer count is <paramref name="expected"/>.</summary>
    public static async Task WaitForViewersAsync(BrokerProcess broker, string roomId, long expected, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        long last = -1;
        while (DateTime.UtcNow < deadline)
        {
            last = (await RoomAdminApi.GetAsync(broker, roomId)).Viewers;
            if (last == expected)
            {
                return;
            }

            await Task.Delay(50); // polling a count that has no event to wait on, bounded by the deadline
        }

        throw new TimeoutException($"room {roomId} has {last} viewers, expected {expected}");
    }
}
