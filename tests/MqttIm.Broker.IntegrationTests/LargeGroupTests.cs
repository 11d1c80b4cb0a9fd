using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>A 20,000-member group with 1,000 members online: hints instead of copies, convergence by sync, one stored copy.</summary>
public sealed class LargeGroupTests : IAsyncLifetime
{
    private const int Members = 20_000;
    private const int Online = 1_000;
    private const int Messages = 30;
    private BrokerProcess _broker = null!;

    public async Task InitializeAsync() => _broker = await BrokerProcess.StartAsync();

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    [Fact]
    public async Task HugeGroup_OnlineMembersGetMergedHints_AndConvergeBySync_WithOneStoredCopy()
    {
        var memberIds = Enumerable.Range(0, Members).Select(i => $"m{i:D5}").ToArray();
        var created = await _broker.AdminPostAsync("/api/admin/groups", new { groupId = "huge", name = "huge", ownerId = "m00000", memberIds });
        Assert.Equal(Members, created.GetProperty("memberCount").GetInt32());

        var devices = new TestDevice[Online];
        using (var gate = new SemaphoreSlim(50))
        {
            await Task.WhenAll(Enumerable.Range(0, Online).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    devices[i] = await TestDevice.ConnectAsync(_broker, memberIds[i * (Members / Online)], protobuf: true);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        try
        {
            await using var sender = await TestDevice.ConnectAsync(_broker, memberIds[1], subscribeInbox: false);
            for (var i = 0; i < Messages; i++)
            {
                Assert.True((await sender.PublishAsync("im/group/huge", sender.Encode(new SendRequest { Text = $"broadcast {i}" }))).IsSuccess);
            }

            const long finalSeq = Messages + 1; // the creation event is seq 1
            using var gate = new SemaphoreSlim(50);
            await Task.WhenAll(devices.Select(async device =>
            {
                // Hints only (merged, so fewer than the messages), never the full message.
                var hints = 0;
                while (true)
                {
                    var evt = await device.NextEventAsync(timeout: TimeSpan.FromSeconds(60));
                    Assert.Equal(InboxEvent.EventOneofCase.Hint, evt.EventCase);
                    hints++;
                    if (evt.Hint.MaxSeq == finalSeq)
                    {
                        break;
                    }
                }

                Assert.InRange(hints, 1, Messages);
                await gate.WaitAsync();
                try
                {
                    var synced = (await device.SyncAllAsync())["group:huge"];
                    Assert.Equal(Enumerable.Range(1, (int)finalSeq).Select(s => (long)s), synced.Select(m => m.Seq));
                    Assert.Equal($"broadcast {Messages - 1}", synced[^1].Text);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }
        finally
        {
            foreach (var device in devices.Where(d => d is not null))
            {
                await device.DisposeAsync();
            }
        }

        // Read diffusion: the store holds each group message once, not once per member (this broker stored nothing else).
        Assert.Equal(Messages + 1.0, await Rooms.RoomViewerProbe.MetricAsync(_broker, "mqttim_message_log_messages"));
    }
}
