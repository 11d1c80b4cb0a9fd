using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk.Tests;

/// <summary>Recall and edit after the change window (1 s on this broker): refused for senders, still allowed for group owners.</summary>
public sealed class ChangeWindowTests(TightLimitsBrokerFixture fixture) : IClassFixture<TightLimitsBrokerFixture>
{
    [Fact]
    public async Task ChangesAfterTheWindowAreRefusedExceptAGroupOwnersRecall()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        await using var aliceClient = await fixture.ConnectAsync(alice);
        await using var bobClient = await fixture.ConnectAsync(bob);
        var direct = await aliceClient.SendTextAsync(bob, "too late to take back");
        var group = await aliceClient.Groups.CreateAsync("owned", [bob]);
        var inGroup = await bobClient.SendToGroupAsync(group.GroupId, "the owner may recall this");

        // The broker's own clock decides: a probe sent after the others is edited until the broker says its window
        // has passed, so theirs has passed too (bounded in attempts and time).
        var probe = await aliceClient.SendTextAsync(BrokerFixture.NewUser("carol"), "probe");
        var deadline = DateTime.UtcNow + TightLimitsBrokerFixture.ChangeWindow + TimeSpan.FromSeconds(20);
        for (var attempt = 0; ; attempt++)
        {
            Assert.True(attempt < 500 && DateTime.UtcNow < deadline, "the broker never closed the change window of the probe");
            try
            {
                await aliceClient.EditAsync(probe.ConversationId, probe.Seq, $"probe {attempt}");
            }
            catch (MqttImRpcException expired) when (expired.Code == "window_expired")
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50)); // between polls of the broker's answer, bounded above
        }

        var recall = await Assert.ThrowsAsync<MqttImRpcException>(() => aliceClient.RecallAsync(direct.ConversationId, direct.Seq));
        Assert.Equal(("recall", "window_expired"), (recall.Method, recall.Code));
        var edit = await Assert.ThrowsAsync<MqttImRpcException>(() => aliceClient.EditAsync(direct.ConversationId, direct.Seq, "changed"));
        Assert.Equal(("edit", "window_expired"), (edit.Method, edit.Code));
        var ownRecall = await Assert.ThrowsAsync<MqttImRpcException>(() => bobClient.RecallAsync(inGroup.ConversationId, inGroup.Seq));
        Assert.Equal("window_expired", ownRecall.Code);

        var byOwner = await aliceClient.RecallAsync(inGroup.ConversationId, inGroup.Seq);
        Assert.Equal((MessageKind.Recall, inGroup.Seq, inGroup.Seq + 1, alice), (byOwner.Kind, byOwner.TargetSeq, byOwner.Seq, byOwner.SenderId));
        var atBob = (await bobClient.TakeAsync(4)).Where(m => m.ConversationId == inGroup.ConversationId).ToList();
        Assert.Equal([1L, 2L, 3L], atBob.Seqs());
        Assert.Equal((MessageKind.Recall, 2L), (atBob[2].Kind, atBob[2].TargetSeq));
    }
}
