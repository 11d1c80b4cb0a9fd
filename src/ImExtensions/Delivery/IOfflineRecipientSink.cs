using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Delivery;

/// <summary>
/// Where the delivery path reports who missed a message live: a stored message reached none of a recipient's devices, or a
/// device started receiving its inbox live. The push bridge implements it; the default does nothing. Both calls must return
/// at once (they run on the delivery loop and the connect path).
/// </summary>
public interface IOfflineRecipientSink
{
    /// <summary>False: nobody listens, so the delivery path skips the look-ups it would make only to report (group members' devices).</summary>
    bool IsActive { get; }

    /// <summary><paramref name="userId"/> has no online device for <paramref name="message"/> (already stored, so nothing is lost if this is dropped).</summary>
    void RecipientOffline(string userId, ChatMessage message);

    /// <summary>A device of <paramref name="userId"/> now receives inbox events live (and catches up by sync).</summary>
    void DeviceOnline(string userId, string clientId);
}

/// <summary>The default without a push bridge.</summary>
internal sealed class NoOfflineRecipientSink : IOfflineRecipientSink
{
    public bool IsActive => false;

    public void RecipientOffline(string userId, ChatMessage message)
    {
    }

    public void DeviceOnline(string userId, string clientId)
    {
    }
}
