import { useMutation } from '@apollo/client/react';
import { useState, type FormEvent } from 'react';
import { SignInDocument, type MeQuery } from '../../../generated/graphql.js';
import { errorMessage } from '../format.js';
import { hasToken, signInWith, signOut } from '../realm.js';

/** Id of the name field, so panels that need a player can point to it. */
export const signInFieldId = 'signin-name';

/** Who is signed in, or a guest sign-in form. */
export function Session({ me, loading }: { me: MeQuery['me'] | undefined; loading: boolean }) {
  if (me) {
    return (
      <div className="session" data-testid="session">
        <span className="avatar" aria-hidden="true">
          {me.name.slice(0, 1).toUpperCase()}
        </span>
        <span className="session-name">
          <span className="sr-only">Signed in as </span>
          {me.name}
          <span className="role">{me.role.replace('_', ' ').toLowerCase()}</span>
        </span>
        <button type="button" className="button ghost small" onClick={() => void signOut()}>
          Sign out
        </button>
      </div>
    );
  }
  // A stored token is being checked: no sign-in form flashing up meanwhile.
  if (loading && hasToken()) return <span className="muted session">Signing in…</span>;
  return <SignInForm />;
}

function SignInForm() {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [signIn, { loading }] = useMutation(SignInDocument);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const { data } = await signIn({ variables: { name: name.trim() } });
      if (data) await signInWith(data.signIn.token);
    } catch (failure) {
      setError(errorMessage(failure));
    }
  };

  return (
    <form className="signin" onSubmit={submit} aria-describedby="signin-error">
      <label htmlFor={signInFieldId}>Play as</label>
      <input
        id={signInFieldId}
        name="name"
        placeholder="Guest name"
        autoComplete="nickname"
        required
        maxLength={40}
        value={name}
        onChange={(e) => setName(e.target.value)}
      />
      <button type="submit" className="button primary small" disabled={loading || !name.trim()}>
        Sign in
      </button>
      <p id="signin-error" className="error-text" role="alert">
        {error}
      </p>
    </form>
  );
}
