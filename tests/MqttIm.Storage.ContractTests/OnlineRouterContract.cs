using MQTTnet;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.Storage.ContractTests;

/// <summary>What every online router must do: find a user's devices, deliver to each but the excluded one, forget stale connections.</summary>
public abstract class OnlineRouterContract
{
    private readonly CancellationToken _ct = CancellationToken.None;

    internal abstract IOnlineRouter CreateRouter();

    private sealed class RecordingChannel : IDeviceChannel
    {
        public List<MqttApplicationMessage> Received { get; } = [];

        public bool TryPublish(MqttApplicationMessage message)
        {
            Received.Add(message);
            return true;
        }
    }

    private static (OnlineDevice Device, RecordingChannel Channel) Device(string user, string client, string connection = "c1", WireFormat format = WireFormat.Json)
    {
        var channel = new RecordingChannel();
        return (new OnlineDevice(user, client, format, connection, channel), channel);
    }

    private static OutboundEvent Event(string text) => new(new InboxEvent { Message = new ChatMessage { Text = text, Seq = 1 } });

    [Fact]
    public async Task Route_ReachesEveryDeviceOfTheUserButTheExcludedOne()
    {
        var router = CreateRouter();
        var (phone, phoneChannel) = Device("alice", "alice-phone");
        var (pc, pcChannel) = Device("alice", "alice-pc", format: WireFormat.Protobuf);
        var (bob, bobChannel) = Device("bob", "bob-phone");
        await router.RegisterAsync(phone, _ct);
        await router.RegisterAsync(pc, _ct);
        await router.RegisterAsync(bob, _ct);

        Assert.Equal(2, await router.RouteAsync("alice", Event("hi"), exceptClientId: null, _ct));
        Assert.Equal(1, await router.RouteAsync("alice", Event("again"), exceptClientId: "alice-phone", _ct));

        Assert.Single(phoneChannel.Received);
        Assert.Equal(2, pcChannel.Received.Count);
        Assert.Empty(bobChannel.Received);
        Assert.All(phoneChannel.Received.Concat(pcChannel.Received), m => Assert.Equal("inbox/alice", m.Topic));
        Assert.Equal(PayloadCodec.ProtobufContentType, pcChannel.Received[0].ContentType);
        Assert.Equal(PayloadCodec.JsonContentType, phoneChannel.Received[0].ContentType);
    }

    [Fact]
    public async Task Route_UnknownUser_ReachesNobody()
    {
        Assert.Equal(0, await CreateRouter().RouteAsync("nobody", Event("x"), null, _ct));
    }

    [Fact]
    public async Task Unregister_StaleConnection_KeepsTheNewerOne()
    {
        var router = CreateRouter();
        var (old, _) = Device("alice", "alice-phone", connection: "first");
        var (newer, newerChannel) = Device("alice", "alice-phone", connection: "second");
        await router.RegisterAsync(old, _ct);
        await router.RegisterAsync(newer, _ct);

        // The first connection's disconnect arrives after the takeover.
        await router.UnregisterAsync("alice-phone", "first", _ct);

        Assert.Equal(1, await router.RouteAsync("alice", Event("x"), null, _ct));
        Assert.Single(newerChannel.Received);
        Assert.Single(await router.GetDevicesAsync("alice", _ct));
    }

    [Fact]
    public async Task Unregister_CurrentConnection_RemovesTheDevice()
    {
        var router = CreateRouter();
        var (phone, channel) = Device("alice", "alice-phone");
        await router.RegisterAsync(phone, _ct);

        await router.UnregisterAsync("alice-phone", "c1", _ct);

        Assert.Equal(0, await router.RouteAsync("alice", Event("x"), null, _ct));
        Assert.Empty(channel.Received);
        Assert.Empty(await router.GetDevicesAsync("alice", _ct));
    }

    [Fact]
    public async Task RouteToDevice_OnlyThatDeviceOfThatUser()
    {
        var router = CreateRouter();
        var (phone, phoneChannel) = Device("alice", "alice-phone");
        var (pc, pcChannel) = Device("alice", "alice-pc");
        await router.RegisterAsync(phone, _ct);
        await router.RegisterAsync(pc, _ct);

        Assert.True(await router.RouteToDeviceAsync("alice", "alice-pc", Event("x"), _ct));
        Assert.False(await router.RouteToDeviceAsync("bob", "alice-pc", Event("x"), _ct));
        Assert.False(await router.RouteToDeviceAsync("alice", "ghost", Event("x"), _ct));

        Assert.Empty(phoneChannel.Received);
        Assert.Single(pcChannel.Received);
    }

    [Fact]
    public async Task Register_SameClientIdOnAnotherUser_MovesIt()
    {
        var router = CreateRouter();
        var (first, _) = Device("alice", "shared-id");
        var (second, secondChannel) = Device("bob", "shared-id", connection: "c2");
        await router.RegisterAsync(first, _ct);
        await router.RegisterAsync(second, _ct);

        Assert.Equal(0, await router.RouteAsync("alice", Event("x"), null, _ct));
        Assert.Equal(1, await router.RouteAsync("bob", Event("x"), null, _ct));
        Assert.Single(secondChannel.Received);
    }
}
