using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace MqttIm.ImExtensions.BrokerState;

/// <summary>
/// Keeps MQTTnet's retained messages across restarts: loaded when MQTTnet starts, each change written behind it. A QoS 1/2
/// retained message is acknowledged once stored; QoS 0 ones are written with the next batch (the spec promises them nothing).
/// </summary>
internal sealed class RetainedMessagePersistence(BrokerStateLoader loader, BrokerStateWriter writer, TimeProvider clock)
{
    public async Task LoadAsync(LoadingRetainedMessagesEventArgs args)
    {
        var snapshot = await loader.LoadAsync().ConfigureAwait(false);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var loaded = new List<MqttApplicationMessage>(snapshot.Retained.Count);
        foreach (var stored in snapshot.Retained)
        {
            if (MqttMessageSnapshots.ToMessage(stored, now, retain: true) is { } message)
            {
                loaded.Add(message);
            }
            else
            {
                writer.Enqueue(new BrokerStateChange.RetainedDeleted(stored.Topic)); // expired while the broker was down
            }
        }

        args.LoadedRetainedMessages = loaded;
    }

    public Task ChangedAsync(RetainedMessageChangedEventArgs args)
    {
        var message = args.ChangedRetainedMessage;
        BrokerStateChange change = message.Payload.IsEmpty
            ? new BrokerStateChange.RetainedDeleted(message.Topic)
            : new BrokerStateChange.RetainedSet(MqttMessageSnapshots.From(message, (int)message.QualityOfServiceLevel, clock.GetUtcNow().ToUnixTimeMilliseconds()));
        if (message.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtMostOnce)
        {
            writer.Enqueue(change);
            return Task.CompletedTask;
        }

        return writer.SaveAsync([change]);
    }

    public Task ClearedAsync()
    {
        writer.Enqueue(new BrokerStateChange.RetainedCleared());
        return Task.CompletedTask;
    }
}
