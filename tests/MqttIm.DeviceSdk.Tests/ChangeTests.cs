using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk.Tests;

/// <summary>Recall and edit: stored as RECALL/EDIT events every device receives in its stream; permissions checked.</summary>
public sealed class ChangeTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    [Fact]
    public async Task RecallAndEditArriveAsChangeEventsAtThePeerAndAllOwnDevices()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        await using var aliceClient = await fixture.ConnectAsync(alice);
        await using var aliceTablet = await fixture.ConnectAsync(alice);
        await using var bobClient = await fixture.ConnectAsync(bob);
        var conversation = ConversationIds.C2c(alice, bob);
        await aliceClient.SendBatchAsync(bob, [new SendRequest { Text = "oops" }, new SendRequest { Text = "typo" }]);

        var recall = await aliceClient.RecallAsync(conversation, 1);
        var edit = await aliceClient.EditAsync(conversation, 2, "fixed");

        Assert.Equal((MessageKind.Recall, 1L, 3L, alice), (recall.Kind, recall.TargetSeq, recall.Seq, recall.SenderId));
        Assert.Equal((MessageKind.Edit, 2L, 4L, "fixed"), (edit.Kind, edit.TargetSeq, edit.Seq, edit.Text));
        foreach (var client in new[] { bobClient, aliceTablet, aliceClient })
        {
            var received = await client.TakeAsync(4);
            Assert.Equal([1L, 2L, 3L, 4L], received.Seqs());
            Assert.Equal([MessageKind.Normal, MessageKind.Normal, MessageKind.Recall, MessageKind.Edit], received.Select(m => m.Kind));
            Assert.Equal((1L, 2L, "fixed"), (received[2].TargetSeq, received[3].TargetSeq, received[3].Text));
        }

        // An offline device converges through sync as well.
        var synced = Assert.Single(await bobClient.SyncAsync());
        Assert.Equal([MessageKind.Recall, MessageKind.Edit], synced.Messages.Skip(2).Select(m => m.Kind));
    }

    [Fact]
    public async Task ChangingSomeoneElsesMessageIsRefused()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        await using var aliceClient = await fixture.ConnectAsync(alice);
        await using var bobClient = await fixture.ConnectAsync(bob);
        var conversation = ConversationIds.C2c(alice, bob);
        await aliceClient.SendTextAsync(bob, "mine");

        var edit = await Assert.ThrowsAsync<MqttImRpcException>(() => bobClient.EditAsync(conversation, 1, "yours now"));
        Assert.Equal(("edit", "not_authorized"), (edit.Method, edit.Code));
        var recall = await Assert.ThrowsAsync<MqttImRpcException>(() => bobClient.RecallAsync(conversation, 1));
        Assert.Equal(("recall", "not_authorized"), (recall.Method, recall.Code));
        var missing = await Assert.ThrowsAsync<MqttImRpcException>(() => aliceClient.RecallAsync(conversation, 42));
        Assert.Equal("not_authorized", missing.Code);

        // Nothing was stored: the next message is seq 2.
        Assert.Equal(2, (await aliceClient.SendTextAsync(bob, "next")).Seq);
    }
}
