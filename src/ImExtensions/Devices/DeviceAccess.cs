using MqttIm.ImExtensions.Devices.Storage;
using MqttIm.ImExtensions.Groups;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Devices;

/// <summary>Which users may see and command which devices: the device's owners, directly or through a group.</summary>
internal sealed class DeviceAccess(IDeviceStore devices, GroupDirectory groups, IGroupStore groupStore)
{
    public async Task<bool> MayAccessAsync(string userId, string deviceId, CancellationToken cancellationToken)
    {
        var device = await devices.GetAsync(deviceId, cancellationToken).ConfigureAwait(false);
        return device is not null && await IsOwnerAsync(userId, device, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> IsOwnerAsync(string userId, DeviceRecord device, CancellationToken cancellationToken)
    {
        foreach (var owner in device.Owners)
        {
            if (owner == userId)
            {
                return true;
            }

            if (owner.StartsWith(DeviceRegistry.GroupPrefix, StringComparison.Ordinal)
                && (await groups.GetAsync(owner[DeviceRegistry.GroupPrefix.Length..], cancellationToken).ConfigureAwait(false))?.Find(userId) is not null)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Every user who owns the device: its user owners and the members of its group owners (an alert's recipients).</summary>
    public async Task<IReadOnlyCollection<string>> OwnerUsersAsync(DeviceRecord device, CancellationToken cancellationToken)
    {
        var users = new HashSet<string>(StringComparer.Ordinal);
        foreach (var owner in device.Owners)
        {
            if (!owner.StartsWith(DeviceRegistry.GroupPrefix, StringComparison.Ordinal))
            {
                users.Add(owner);
            }
            else if (await groups.GetAsync(owner[DeviceRegistry.GroupPrefix.Length..], cancellationToken).ConfigureAwait(false) is { } group)
            {
                users.UnionWith(group.Members.Keys);
            }
        }

        return users;
    }

    /// <summary>The owner principals that stand for this user: the user id and <c>group:{id}</c> of each of its groups.</summary>
    public async Task<IReadOnlyCollection<string>> PrincipalsOfAsync(string userId, CancellationToken cancellationToken)
    {
        var principals = new List<string> { userId };
        // The membership index: the user's groups, not a walk over all their conversations.
        foreach (var groupId in await groupStore.GetGroupIdsOfUserAsync(userId, cancellationToken).ConfigureAwait(false))
        {
            principals.Add(DeviceRegistry.GroupPrefix + groupId);
        }

        return principals;
    }
}
