using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Groups;

/// <summary>
/// Group life cycle and membership, with role checks (owner, admin, member). Every change is also a seq'd
/// <c>GROUP_EVENT</c> in the group conversation, so all devices converge through sync. Changes to one group are serialised.
/// </summary>
internal sealed class GroupService(
    IGroupStore store,
    IConversationStore conversations,
    IMessageStore messages,
    GroupDirectory directory,
    MessageCommitQueue commitQueue,
    IOnlineRouter router,
    TimeProvider clock,
    IOptions<GroupOptions> options)
{
    /// <summary>Longest mute (ten years); longer requests are refused rather than overflowing the mute time.</summary>
    public const long MaxMuteSeconds = 10L * 365 * 24 * 3600;

    // One lock per group being changed right now (not per group ever changed).
    private readonly Memory.KeyedLocks _locks = new("group_locks");

    internal int LockCount => _locks.Count;

    public async Task<GroupInfo> CreateAsync(GroupActor actor, string? groupId, string name, string ownerId, IReadOnlyCollection<string> memberIds, CancellationToken cancellationToken)
    {
        groupId = string.IsNullOrEmpty(groupId) ? "g" + Guid.NewGuid().ToString("N")[..16] : groupId;
        RequireValidIds([groupId], "group id");
        RequireValidIds([ownerId, .. memberIds], "user id");
        var everyone = memberIds.Append(ownerId).Distinct(StringComparer.Ordinal).ToList();
        if (everyone.Count > options.Value.MaxMembers)
        {
            throw GroupOperationException.Invalid($"a group has at most {options.Value.MaxMembers} members");
        }

        return await UnderLockAsync(groupId, async () =>
        {
            if (!await store.CreateAsync(new GroupRecord(groupId, name, ownerId, AllMuted: false, Dissolved: false), cancellationToken).ConfigureAwait(false))
            {
                throw new GroupOperationException("already_exists", $"group '{groupId}' exists");
            }

            var joined = await messages.GetMaxSeqAsync(GroupConversations.IdOf(groupId), cancellationToken).ConfigureAwait(false) + 1;
            await store.UpsertMembersAsync(groupId, everyone.ConvertAll(u => new GroupMember
            {
                UserId = u,
                Role = u == ownerId ? GroupRole.Owner : GroupRole.Member,
                JoinedSeq = joined,
            }), cancellationToken).ConfigureAwait(false);
            await conversations.AddParticipantsAsync(GroupConversations.IdOf(groupId), everyone, joined, cancellationToken).ConfigureAwait(false);
            var snapshot = await directory.RefreshAsync(groupId, cancellationToken).ConfigureAwait(false);
            await WriteEventAsync(actor, snapshot!, "created", $"{actor.UserId} created the group \"{name}\"", everyone, cancellationToken).ConfigureAwait(false);
            return Info(snapshot!, withMembers: false);
        }).ConfigureAwait(false);
    }

    public Task<GroupInfo> RenameAsync(GroupActor actor, string groupId, string name, CancellationToken cancellationToken) =>
        ChangeAsync(actor, groupId, requireManager: true, async snapshot =>
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                throw GroupOperationException.Invalid("a group name must not be empty");
            }

            await store.UpdateAsync(snapshot.Group with { Name = name }, cancellationToken).ConfigureAwait(false);
            return ("renamed", $"{actor.UserId} renamed the group to \"{name}\"", Array.Empty<string>());
        }, cancellationToken);

    public Task<GroupInfo> DissolveAsync(GroupActor actor, string groupId, CancellationToken cancellationToken) =>
        ChangeAsync(actor, groupId, requireManager: true, async snapshot =>
        {
            RequireOwner(actor, snapshot);
            await store.UpdateAsync(snapshot.Group with { Dissolved = true }, cancellationToken).ConfigureAwait(false);
            return ("dissolved", $"{actor.UserId} dissolved the group", Array.Empty<string>());
        }, cancellationToken);

    public Task<GroupInfo> AddMembersAsync(GroupActor actor, string groupId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken) =>
        ChangeAsync(actor, groupId, requireManager: true, async snapshot =>
        {
            RequireValidIds(userIds, "user id");
            var added = userIds.Where(u => snapshot.Find(u) is null).Distinct(StringComparer.Ordinal).ToList();
            if (snapshot.Members.Count + added.Count > options.Value.MaxMembers)
            {
                throw GroupOperationException.Invalid($"a group has at most {options.Value.MaxMembers} members");
            }

            // Newcomers see history from here on, not before.
            var joined = await messages.GetMaxSeqAsync(snapshot.ConversationId, cancellationToken).ConfigureAwait(false) + 1;
            await store.UpsertMembersAsync(groupId, added.ConvertAll(u => new GroupMember { UserId = u, Role = GroupRole.Member, JoinedSeq = joined }), cancellationToken).ConfigureAwait(false);
            await conversations.AddParticipantsAsync(snapshot.ConversationId, added, joined, cancellationToken).ConfigureAwait(false);
            return ("members_added", $"{actor.UserId} added {string.Join(", ", added)}", added.ToArray());
        }, cancellationToken);

    public Task<GroupInfo> RemoveMembersAsync(GroupActor actor, string groupId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken) =>
        ChangeAsync(actor, groupId, requireManager: false, async snapshot =>
        {
            var leaving = userIds.Count == 1 && userIds.First() == actor.UserId;
            if (!leaving && !actor.IsOperator)
            {
                RequireManager(actor, snapshot);
                foreach (var userId in userIds)
                {
                    if (snapshot.RoleOf(userId) is GroupRole.Owner || (snapshot.RoleOf(userId) is GroupRole.Admin && snapshot.RoleOf(actor.UserId) != GroupRole.Owner))
                    {
                        throw GroupOperationException.Forbidden($"{actor.UserId} may not remove {userId}");
                    }
                }
            }

            if (leaving && snapshot.RoleOf(actor.UserId) == GroupRole.Owner)
            {
                throw GroupOperationException.Invalid("the owner cannot leave; dissolve the group instead");
            }

            var removed = userIds.Where(u => snapshot.Find(u) is not null).Distinct(StringComparer.Ordinal).ToArray();
            await store.RemoveMembersAsync(groupId, removed, cancellationToken).ConfigureAwait(false);
            await conversations.RemoveParticipantsAsync(snapshot.ConversationId, removed, cancellationToken).ConfigureAwait(false);
            return ("members_removed", leaving ? $"{actor.UserId} left" : $"{actor.UserId} removed {string.Join(", ", removed)}", removed);
        }, cancellationToken);

    public Task<GroupInfo> SetRoleAsync(GroupActor actor, string groupId, IReadOnlyCollection<string> userIds, GroupRole role, CancellationToken cancellationToken) =>
        ChangeAsync(actor, groupId, requireManager: true, async snapshot =>
        {
            RequireOwner(actor, snapshot);
            if (role == GroupRole.Owner)
            {
                throw GroupOperationException.Invalid("ownership cannot be given by set_role");
            }

            var changed = userIds.Select(snapshot.Find).OfType<GroupMember>().Where(m => m.Role != GroupRole.Owner)
                .Select(m => new GroupMember(m) { Role = role }).ToList();
            await store.UpsertMembersAsync(groupId, changed, cancellationToken).ConfigureAwait(false);
            return ("role_changed", $"{actor.UserId} made {string.Join(", ", changed.Select(m => m.UserId))} {role.ToString().ToLowerInvariant()}", changed.Select(m => m.UserId).ToArray());
        }, cancellationToken);

    /// <summary>Mutes members for a while (0 unmutes), or with no user ids switches the whole group's mute.</summary>
    public Task<GroupInfo> MuteAsync(GroupActor actor, string groupId, IReadOnlyCollection<string> userIds, long seconds, bool allMuted, CancellationToken cancellationToken) =>
        ChangeAsync(actor, groupId, requireManager: true, async snapshot =>
        {
            if (userIds.Count == 0)
            {
                await store.UpdateAsync(snapshot.Group with { AllMuted = allMuted }, cancellationToken).ConfigureAwait(false);
                return ("muted", allMuted ? $"{actor.UserId} muted the group" : $"{actor.UserId} unmuted the group", Array.Empty<string>());
            }

            if (seconds is < 0 or > MaxMuteSeconds)
            {
                throw GroupOperationException.Invalid($"muteSeconds is 0 (unmute) to {MaxMuteSeconds} (ten years)");
            }

            var until = seconds > 0 ? clock.GetUtcNow().ToUnixTimeMilliseconds() + (seconds * 1000) : 0;
            var muted = new List<GroupMember>();
            foreach (var member in userIds.Select(snapshot.Find).OfType<GroupMember>())
            {
                if (!actor.IsOperator && (member.Role == GroupRole.Owner || (member.Role == GroupRole.Admin && snapshot.RoleOf(actor.UserId) != GroupRole.Owner)))
                {
                    throw GroupOperationException.Forbidden($"{actor.UserId} may not mute {member.UserId}");
                }

                muted.Add(new GroupMember(member) { MutedUntilMs = until });
            }

            await store.UpsertMembersAsync(groupId, muted, cancellationToken).ConfigureAwait(false);
            var names = string.Join(", ", muted.Select(m => m.UserId));
            return ("muted", until > 0 ? $"{actor.UserId} muted {names} for {seconds} s" : $"{actor.UserId} unmuted {names}", muted.Select(m => m.UserId).ToArray());
        }, cancellationToken);

    public async Task<GroupInfo> GetInfoAsync(GroupActor actor, string groupId, CancellationToken cancellationToken)
    {
        var snapshot = await directory.GetAsync(groupId, cancellationToken).ConfigureAwait(false) ?? throw GroupOperationException.NotFound(groupId);
        if (!actor.IsOperator && snapshot.Find(actor.UserId) is null)
        {
            throw GroupOperationException.Forbidden("only members may see a group");
        }

        return Info(snapshot, withMembers: snapshot.Members.Count <= options.Value.SmallGroupMaxMembers || actor.IsOperator);
    }

    private async Task<GroupInfo> ChangeAsync(
        GroupActor actor, string groupId, bool requireManager,
        Func<GroupSnapshot, Task<(string Event, string Text, string[] Users)>> change, CancellationToken cancellationToken) =>
        await UnderLockAsync(groupId, async () =>
        {
            var before = await directory.GetAsync(groupId, cancellationToken).ConfigureAwait(false) ?? throw GroupOperationException.NotFound(groupId);
            if (before.Group.Dissolved)
            {
                throw GroupOperationException.Invalid("the group is dissolved");
            }

            if (requireManager && !actor.IsOperator)
            {
                RequireManager(actor, before);
            }

            var (name, text, users) = await change(before).ConfigureAwait(false);
            var after = await directory.RefreshAsync(groupId, cancellationToken).ConfigureAwait(false) ?? before;
            var stored = await WriteEventAsync(actor, after, name, text, users, cancellationToken).ConfigureAwait(false);
            if (name == "members_removed")
            {
                // The fan-out reaches members only; the removed learn it once, live (they can no longer sync the group).
                var notice = new OutboundEvent(new InboxEvent { Message = stored });
                foreach (var userId in users)
                {
                    await router.RouteAsync(userId, notice, exceptClientId: null, cancellationToken).ConfigureAwait(false);
                }
            }
            return Info(after, withMembers: false);
        }).ConfigureAwait(false);

    private async Task<ChatMessage> WriteEventAsync(GroupActor actor, GroupSnapshot snapshot, string name, string text, IReadOnlyCollection<string> users, CancellationToken cancellationToken)
    {
        var draft = new ChatMessage
        {
            ConversationId = snapshot.ConversationId,
            GroupId = snapshot.Group.GroupId,
            Kind = MessageKind.GroupEvent,
            SenderId = actor.UserId,
            SenderDevice = actor.ClientId,
            Text = text,
            ContentType = "group_event",
        };
        draft.Ext.Add("event", name);
        draft.Ext.Add("users", string.Join(",", users));
        return (await commitQueue.SubmitAsync(new PendingSend(draft, SenderClientId: ""), cancellationToken).ConfigureAwait(false)).Message;
    }

    private async Task<T> UnderLockAsync<T>(string groupId, Func<Task<T>> work)
    {
        using (await _locks.AcquireAsync(groupId).ConfigureAwait(false))
        {
            return await work().ConfigureAwait(false);
        }
    }

    private static GroupInfo Info(GroupSnapshot snapshot, bool withMembers)
    {
        var info = new GroupInfo
        {
            GroupId = snapshot.Group.GroupId,
            Name = snapshot.Group.Name,
            OwnerId = snapshot.Group.OwnerId,
            MemberCount = snapshot.Members.Count,
            AllMuted = snapshot.Group.AllMuted,
            Dissolved = snapshot.Group.Dissolved,
        };
        if (withMembers)
        {
            info.Members.AddRange(snapshot.Members.Values.OrderBy(m => m.UserId, StringComparer.Ordinal));
        }

        return info;
    }

    private static void RequireManager(GroupActor actor, GroupSnapshot snapshot)
    {
        if (!actor.IsOperator && !snapshot.IsManager(actor.UserId))
        {
            throw GroupOperationException.Forbidden("only the owner or an admin may do this");
        }
    }

    private static void RequireOwner(GroupActor actor, GroupSnapshot snapshot)
    {
        if (!actor.IsOperator && snapshot.RoleOf(actor.UserId) != GroupRole.Owner)
        {
            throw GroupOperationException.Forbidden("only the owner may do this");
        }
    }

    private static void RequireValidIds(IEnumerable<string> ids, string what)
    {
        foreach (var id in ids)
        {
            if (!UserIds.IsValid(id))
            {
                throw GroupOperationException.Invalid($"invalid {what} '{id}': {UserIds.Rule}");
            }
        }
    }
}
