using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.SharedSubscriptions;

namespace MqttIm.ImExtensions.Hooks;

/// <summary>
/// Keeps the shared subscription registry in step with MQTTnet's sessions: acknowledgements clear a member's in-flight
/// messages, a connection or session that ends hands them to another member, a resumed session is online again and a
/// clean start forgets the old memberships. Each handler returns at once while nobody is in a group.
/// </summary>
internal sealed class SharedSubscriptionHooks(SharedSubscriptionRegistry<MqttApplicationMessage> registry, ILogger<SharedSubscriptionHooks> logger)
{
    public void Attach(MqttServer server)
    {
        server.ClientAcknowledgedPublishPacketAsync += args =>
        {
            if (registry.HasMembers)
            {
                Guard("shared-ack", args.ClientId, () => registry.Acknowledged(args.ClientId, args.PublishPacket.PacketIdentifier));
            }

            return Task.CompletedTask;
        };

        server.QueuedApplicationMessageOverwrittenAsync += args =>
        {
            // Dropped from a full queue before it was sent: it will never be acknowledged (drop-oldest, counted as an overflow).
            if (registry.HasMembers && args.Packet is MqttPublishPacket { QualityOfServiceLevel: > MqttQualityOfServiceLevel.AtMostOnce } dropped)
            {
                Guard("shared-overwritten", args.ReceiverClientId, () => registry.Acknowledged(args.ReceiverClientId, dropped.PacketIdentifier));
            }

            return Task.CompletedTask;
        };

        server.ClientConnectedAsync += args =>
        {
            if (registry.HasMembers && registry.IsMember(args.ClientId))
            {
                var resumed = args.SessionItems?.Contains(SharedSessionSubscriber.SessionItemKey) == true;
                Guard("shared-connected", args.ClientId, () =>
                {
                    if (resumed)
                    {
                        registry.Resumed(args.ClientId, DeviceLifecycle.ConnectionKeyOf(args.RemoteEndPoint));
                    }
                    else
                    {
                        registry.SessionEnded(args.ClientId); // clean start replaced the session (MQTTnet raises no SessionDeleted for it)
                    }
                });
            }

            return Task.CompletedTask;
        };

        server.ClientDisconnectedAsync += args =>
        {
            // A takeover continues the session on the new connection; a clean session already ended (SessionDeleted comes first).
            if (registry.HasMembers && args.DisconnectType != MqttClientDisconnectType.Takeover)
            {
                Guard("shared-disconnected", args.ClientId, () => registry.ConnectionEnded(args.ClientId, DeviceLifecycle.ConnectionKeyOf(args.RemoteEndPoint)));
            }

            return Task.CompletedTask;
        };

        server.SessionDeletedAsync += args =>
        {
            if (registry.HasMembers)
            {
                Guard("shared-session-deleted", args.Id, () => registry.SessionEnded(args.Id));
            }

            return Task.CompletedTask;
        };
    }

    private void Guard(string hook, string clientId, Action handler)
    {
        try
        {
            handler();
        }
        catch (Exception ex)
        {
            ImLog.HookFailed(logger, ex, hook, clientId);
        }
    }
}
