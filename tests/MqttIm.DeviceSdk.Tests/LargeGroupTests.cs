using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.DeviceSdk.Tests;

/// <summary>Large groups (here: more than 2 members): members get merged hints and pull the messages with sync.</summary>
public sealed class LargeGroupTests(TightLimitsBrokerFixture fixture) : IClassFixture<TightLimitsBrokerFixture>
{
    [Fact]
    public async Task MembersReceiveEveryMessageInOrderThroughHintsAndSync()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        var carol = BrokerFixture.NewUser("carol");
        // Gap fills would also converge; a long gap timeout leaves it to the hints.
        Action<MqttImClientOptions> hintsOnly = o => o.GapTimeout = TimeSpan.FromMinutes(5);
        await using var aliceClient = await fixture.ConnectAsync(alice, hintsOnly);
        await using var bobClient = await fixture.ConnectAsync(bob, hintsOnly);
        await using var carolClient = await fixture.ConnectAsync(carol, o =>
        {
            hintsOnly(o);
            o.SyncPageLimit = 4;
        });
        var errors = new List<Exception>();
        foreach (var client in new[] { aliceClient, bobClient, carolClient })
        {
            client.BackgroundError += ex =>
            {
                lock (errors)
                {
                    errors.Add(ex);
                }
            };
        }

        var created = await fixture.Broker.AdminPostAsync("/api/admin/groups", new { name = "big", ownerId = alice, memberIds = new[] { bob, carol } });
        var groupId = created.GetProperty("groupId").GetString()!;
        var conversation = ConversationIds.Group(groupId);

        const int perSender = 15;
        var senders = new[] { aliceClient, bobClient }.Select(client => Task.Run(async () =>
        {
            for (var i = 1; i <= perSender; i++)
            {
                await client.SendToGroupAsync(groupId, $"{client.UserId[..5]} {i}");
            }
        }));
        await Task.WhenAll(senders);

        var total = 1 + (2 * perSender);
        var seen = new List<List<ChatMessage>>();
        foreach (var client in new[] { aliceClient, bobClient, carolClient })
        {
            var received = await client.TakeAsync(total, TimeSpan.FromSeconds(20));
            Assert.Equal(Streams.Range(1, total), received.Seqs());
            Assert.Equal(MessageKind.GroupEvent, received[0].Kind);
            Assert.All(received, m => Assert.Equal(conversation, m.ConversationId));
            Assert.Equal(total, client.Cursors[conversation]);
            seen.Add(received);
        }

        Assert.Equal(seen[0].Select(m => (m.Seq, m.Text, m.SenderId)), seen[2].Select(m => (m.Seq, m.Text, m.SenderId)));
        Assert.Equal(seen[1].Select(m => m.ServerMsgId), seen[2].Select(m => m.ServerMsgId));
        Assert.Empty(errors);

        // A later message is still pulled on its hint.
        await aliceClient.SendToGroupAsync(groupId, "one more");
        var last = Assert.Single(await carolClient.TakeAsync(1));
        Assert.Equal(("one more", total + 1L), (last.Text, last.Seq));
    }
}
