using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>
/// A committed group message to its members, done by Groups (who the members are, and whether the group is small enough
/// for messages or gets hints). Messaging owns the seam so that its fan-out need not know groups.
/// </summary>
internal interface IGroupFanout
{
    /// <summary>Returns how many devices the message was handed to.</summary>
    ValueTask<int> DeliverAsync(PendingSend send, ChatMessage message, OutboundEvent outbound, CancellationToken cancellationToken);
}
